"""Loader for UEA/UCR `.ts` files (the sktime / timeseriesclassification.com text format).

A header of `@tag value` lines (`@problemName`, `@timeStamps`, `@missing`, `@univariate`,
`@dimensions`, `@equalLength`, `@seriesLength`, `@classLabel true <labels...>`) ends at `@data`;
then one case per line: dimensions separated by ':', values by ',', the class label last.
'?' is a missing value (NaN). Series may differ in length between cases, but the dimensions of
one case must have the same length, because a sequence is one `(T, C)` array. Timestamped
files (`@timeStamps true`) and regression files (`@targetLabel`) are not supported.

The format has no subjects and no sample rate: each case is its own subject, and the sample
period is 1 s "assumed" unless the caller gives one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgekit.data.dataset import UNLABELLED, SequenceDataset
from edgekit.data.inspect import PERIOD_SOURCE_KEY, PeriodSource
from edgekit.errors import DataError

MISSING_TOKEN = "?"
ASSUMED_PERIOD_S = 1.0


@dataclass
class _Header:
    problem_name: str = ""
    dimensions: int | None = None
    series_length: int | None = None
    equal_length: bool = False
    labelled: bool = False
    class_names: tuple[str, ...] = ()
    seen: set[str] = field(default_factory=set)


def load_uea(path: str | Path, *, sample_period_s: float | None = None) -> SequenceDataset:
    """Load a UEA/UCR `.ts` classification file; variable-length series are kept as they are."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found; expected a UEA/UCR .ts file")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text file; expected a UEA/UCR .ts file") from None
    header, data_start = _parse_header(lines, path)
    index = {name: i for i, name in enumerate(header.class_names)}
    sequences, labels, line_numbers = [], [], []
    for line_no in range(data_start + 1, len(lines) + 1):
        line = lines[line_no - 1].strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split(":")
        if header.labelled:
            label = fields.pop().strip()
            if label not in index:
                raise DataError(
                    f"{path}: line {line_no} has class label {label!r}; expected one of {list(header.class_names)}"
                )
            labels.append(index[label])
        else:
            labels.append(UNLABELLED)
        sequences.append(_parse_case(fields, header, path, line_no))
        line_numbers.append(line_no)
    if not sequences:
        raise DataError(f"{path}: no cases after @data; expected one case per line")
    widths = {s.shape[1] for s in sequences}
    if len(widths) != 1:
        first_odd = next(n for s, n in zip(sequences, line_numbers) if s.shape[1] != sequences[0].shape[1])
        raise DataError(f"{path}: line {first_odd} has a different number of dimensions than line {line_numbers[0]}")

    n_channels = widths.pop()
    name = header.problem_name or path.stem
    ids = np.array([f"{name}_{i:05d}" for i in range(len(sequences))])
    source = PeriodSource.ASSUMED if sample_period_s is None else PeriodSource.GIVEN
    return SequenceDataset(
        sequences=sequences,
        channels=tuple(f"dim_{d}" for d in range(n_channels)),
        units=("",) * n_channels,  # the format does not carry units
        sample_period_s=ASSUMED_PERIOD_S if sample_period_s is None else sample_period_s,
        labels=np.array(labels, dtype=np.int64),
        class_names=header.class_names,
        subjects=ids,  # no subjects in the format: never group two cases together
        sequence_ids=ids,
        extras={PERIOD_SOURCE_KEY: np.full(len(ids), source.value)},
        name=name,
    )


def _parse_header(lines: list[str], path: Path) -> tuple[_Header, int]:
    """Read the `@tag` lines; returns the header and the 1-based line number of `@data`."""
    header = _Header()
    for line_no, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not line.startswith("@"):
            raise DataError(f"{path}: line {line_no} is not an @tag line and no @data line came before it")
        tag, _, value = line.partition(" ")
        tag, words = tag.lower(), value.split()
        header.seen.add(tag)
        if tag == "@data":
            if "@classlabel" not in header.seen:
                raise DataError(f"{path}: no @classLabel line before @data; expected '@classLabel true <labels>' or false")
            return header, line_no
        if tag == "@problemname":
            header.problem_name = value.strip()
        elif tag == "@timestamps" and _flag(words, tag, path, line_no):
            raise DataError(f"{path}: @timeStamps true is not supported; expected a .ts file without timestamps")
        elif tag == "@targetlabel":
            raise DataError(f"{path}: @targetLabel (regression) is not supported; expected a classification file")
        elif tag == "@dimensions":
            header.dimensions = _count(words, tag, path, line_no)
        elif tag == "@serieslength":
            header.series_length = _count(words, tag, path, line_no)
        elif tag == "@equallength":
            header.equal_length = _flag(words, tag, path, line_no)
        elif tag == "@univariate" and _flag(words, tag, path, line_no):
            header.dimensions = 1
        elif tag == "@classlabel":
            header.labelled = _flag(words[:1], tag, path, line_no)
            header.class_names = tuple(words[1:])
            if header.labelled and not header.class_names:
                raise DataError(f"{path}: line {line_no}: @classLabel true lists no labels; expected the class labels")
        # @missing only announces '?' values, which are always accepted
    raise DataError(f"{path}: no @data line; expected a .ts header ending with @data")


def _parse_case(fields: list[str], header: _Header, path: Path, line_no: int) -> np.ndarray:
    if header.dimensions is not None and len(fields) != header.dimensions:
        raise DataError(f"{path}: line {line_no} has {len(fields)} dimensions; expected {header.dimensions} (@dimensions)")
    try:
        dims = [np.array(f.replace(MISSING_TOKEN, "nan").split(","), dtype=np.float32) for f in fields]
    except ValueError:
        raise DataError(f"{path}: line {line_no} has a value that is not a number or '?'") from None
    lengths = {len(d) for d in dims}
    if len(lengths) != 1:
        raise DataError(f"{path}: line {line_no} has dimensions of lengths {sorted(lengths)}; expected one length per case")
    length = lengths.pop()
    if header.equal_length and header.series_length is not None and length != header.series_length:
        raise DataError(
            f"{path}: line {line_no} has {length} values per dimension; expected {header.series_length} (@seriesLength)"
        )
    return np.stack(dims, axis=1)  # (T, C)


def _flag(words: list[str], tag: str, path: Path, line_no: int) -> bool:
    if len(words) < 1 or words[0].lower() not in ("true", "false"):
        raise DataError(f"{path}: line {line_no}: {tag} {' '.join(words)!r}; expected true or false")
    return words[0].lower() == "true"


def _count(words: list[str], tag: str, path: Path, line_no: int) -> int:
    if len(words) != 1 or not words[0].isdigit() or int(words[0]) < 1:
        raise DataError(f"{path}: line {line_no}: {tag} {' '.join(words)!r}; expected a positive integer")
    return int(words[0])
