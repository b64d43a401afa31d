"""Generic long tables (one row per sample), and the table-file pieces the CMI loader, the
simulator and the CLI share: the suffixes edgekit reads and writes (`TABLE_SUFFIXES`), a lazy scan
that names what is wrong with a file, and atomic writes (`write_table`).

A long table has a sequence column, a subject column, a label column, an order column and any
number of channel columns, in CSV or Parquet. It is read lazily with Polars so only the needed
columns are materialised, then sorted by (sequence, order) — rows may arrive in any order.

Sample period: when `sample_period_s` is not given it is estimated as the median step of the
order column across all sequences, which needs the order column to be a time: a Datetime or
Duration column, or a float column in seconds. An integer order column is read as a sample
counter; it carries no time, so the caller must pass `sample_period_s`. The per-sequence median
step is kept in `extras[MEASURED_PERIOD_KEY]` so `inspect_dataset` can report jitter.

Continuous recordings: with no sequence column (`sequence_col=""`) each subject's stream is cut
into sequences where the label changes, or where `session_col` changes, and at time gaps
(`segments.py`); the rows are then sorted by (subject, [session,] time) instead.

Column names: `TableColumns` says which column plays which role (a recipe's `[data.columns]`,
`edgekit train --sequence-col ...`); `TableColumns.for_table` fills in what a user left unsaid
from the file's header (no `subject` column: each sequence is its own subject; no sequence column
but a subject and a label column: a continuous recording, cut by label).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import polars as pl

from edgekit.config_io import PositiveFloat
from edgekit.data.dataset import UNLABELLED, SequenceDataset
from edgekit.data.inspect import MEASURED_PERIOD_KEY, PERIOD_SOURCE_KEY, PeriodSource
from edgekit.data.segments import (CUT_COL, CUT_KEY, GAP_KEY, MAX_GAP_KEY, SEGMENT_COL, STEP_COL, Cut,
                                   cut_streams)
from edgekit.errors import DataError
from edgekit.io import atomic_path

CSV_SUFFIXES = (".csv", ".tsv")
PARQUET_SUFFIXES = (".parquet", ".pq")
TABLE_SUFFIXES = CSV_SUFFIXES + PARQUET_SUFFIXES
# Polars infers CSV dtypes from the first rows only; a column that starts with empty cells would
# be read as text. A longer window makes that rarer; loaders that know their numeric columns
# pass them as overrides instead.
_CSV_INFER_ROWS = 10_000
_PARSE_ERROR = re.compile(r"could not parse `(.*?)` as dtype `(\w+)` at column '(.*?)'")


def scan_table(path: Path, numeric_overrides: Sequence[str] = (), parse_dates: bool = False) -> pl.LazyFrame:
    """A lazy scan of a CSV or Parquet file; `numeric_overrides` columns are parsed as float32,
    and with `parse_dates` CSV text columns that hold ISO dates/times become temporal.

    An override only applies to columns the file has, so a missing one is still reported by the
    caller's schema check, by name.
    """
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: file is empty; expected a header row and data rows")
    suffix = table_suffix(path)
    try:
        if suffix in PARQUET_SUFFIXES:
            lazy = pl.scan_parquet(path)
            lazy.collect_schema()  # surfaces a corrupt file here rather than at collect time
            return lazy
        separator = csv_separator(suffix)
        header = pl.scan_csv(path, separator=separator, n_rows=0).collect_schema().names()
        overrides = {name: pl.Float32 for name in numeric_overrides if name in header}
        return pl.scan_csv(
            path,
            separator=separator,
            schema_overrides=overrides,
            infer_schema_length=_CSV_INFER_ROWS,
            try_parse_dates=parse_dates,
        )
    except pl.exceptions.NoDataError:
        raise DataError(f"{path}: file is empty; expected a header row and data rows") from None
    except pl.exceptions.PolarsError as err:
        raise DataError(f"{path}: not a readable table ({_first_line(err)})") from None


def table_suffix(path: Path) -> str:
    """The lower-case suffix of a table file, one of `TABLE_SUFFIXES` (a DataError otherwise)."""
    suffix = Path(path).suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise DataError(f"{path}: unsupported table suffix {suffix!r}; expected one of {list(TABLE_SUFFIXES)}")
    return suffix


def write_table(frame: pl.DataFrame, path: str | Path) -> Path:
    """Write `frame` as Parquet, CSV or TSV (by suffix); the file appears atomically."""
    path = Path(path)
    suffix = table_suffix(path)
    with atomic_path(path) as tmp:
        if suffix in PARQUET_SUFFIXES:
            frame.write_parquet(tmp)
        else:
            frame.write_csv(tmp, separator=csv_separator(suffix))
    return path


def csv_separator(suffix: str) -> str:
    """The field separator of a CSV-family suffix (`.tsv` is tab-separated)."""
    return "\t" if suffix == ".tsv" else ","


def collect_table(lazy: pl.LazyFrame, path: Path) -> pl.DataFrame:
    """Collect `lazy`, turning a CSV value that does not parse into a DataError naming its column."""
    try:
        return lazy.collect()
    except pl.exceptions.PolarsError as err:
        found = _PARSE_ERROR.search(str(err))
        if found:
            value, dtype, column = found.groups()
            raise DataError(f"{path}: column {column!r} has value {value!r}; expected a number ({dtype})") from None
        raise DataError(f"{path}: could not read the table ({_first_line(err)})") from None


def require_columns(schema: pl.Schema, required: Sequence[str], path: Path, kind: str = "") -> None:
    """Every `required` column is in `schema`; the error names the missing ones (`kind`, e.g. "CMI",
    says which format wanted them)."""
    missing = [c for c in required if c not in schema]
    if missing:
        what = f"{kind} column" if kind else "column"
        named = f"{what} {missing[0]!r}" if len(missing) == 1 else f"{what}s {_listing(missing, 10)} ({len(missing)})"
        raise DataError(f"{path}: missing {named}; the file has {_listing(schema.names(), 20)}")


def require_rows(lazy: pl.LazyFrame, path: Path) -> None:
    """The table has at least one row. Checked before any dtype: in a header-only CSV every column
    reads as text, and a dtype complaint would hide the real problem."""
    if collect_table(lazy.select(pl.first()).head(1), path).height == 0:
        raise DataError(f"{path}: the table has a header but no rows; expected data rows under the header")


def _listing(names: Sequence[str], limit: int) -> list[str]:
    names = list(names)
    return names if len(names) <= limit else names[:limit] + [f"... {len(names) - limit} more"]


def require_numeric(schema: pl.Schema, columns: Sequence[str], path: Path) -> None:
    for name in columns:
        if not schema[name].is_numeric():
            raise DataError(f"{path}: column {name!r} has dtype {schema[name]}; expected a numeric column")


def sort_rows(frame: pl.DataFrame, keys: Sequence[str]) -> pl.DataFrame:
    """`frame` sorted by `keys` (stable). Files usually come sorted already; then the sort, which
    gathers every column into a second copy, is skipped after a check on the keys alone."""
    in_order = frame.select(pl.arg_sort_by(keys, maintain_order=True) == pl.int_range(pl.len())).to_series().all()
    return frame if in_order else frame.sort(keys, maintain_order=True)


def split_sequences(frame: pl.DataFrame, sequence_col: str, channels: Sequence[str]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Cut a frame sorted by `sequence_col` into one `(T_i, C)` float32 array per sequence.

    Returns the sequence ids (in frame order) and the arrays. The samples are converted once
    into one C-ordered block (Polars does the row-major transpose, several times faster than
    numpy on a column-major copy) and the arrays are row slices of it, so the dataset keeps
    them without another copy. Empty cells become NaN.
    """
    runs = frame.get_column(sequence_col).rle()
    lengths = runs.struct.field("len").to_numpy()
    samples = frame.select(pl.col(channels).cast(pl.Float32).fill_null(float("nan"))).to_numpy(order="c")
    return runs.struct.field("value").to_numpy(), np.split(samples, np.cumsum(lengths)[:-1])


@dataclass(frozen=True)
class TableColumns:
    """Which column of a long table plays which role: `load_long_table`'s keyword arguments under
    the names a recipe's `[data.columns]` uses. `subject = ""`: no subject column (each sequence
    is its own subject); `label = ""`: unlabelled; `channels` unset: every other numeric column.
    `sequence = ""`: a continuous recording, cut into sequences by `session` when named, else by
    label, and at steps over `max_gap_s` (None: 5 median sample periods)."""

    sequence: str = "sequence_id"
    subject: str = "subject"
    label: str = "label"
    time: str = "time"  # the order column: seconds (float), datetimes, or an integer sample counter
    channels: tuple[str, ...] | None = None
    session: str = ""  # continuous recordings (sequence = ""): cut where this column changes, not the label
    max_gap_s: PositiveFloat | None = None  # continuous recordings: a longer time step starts a new sequence

    def loader_kwargs(self) -> dict:
        return {"sequence_col": self.sequence, "subject_col": self.subject or None, "label_col": self.label or None,
                "order_col": self.time, "channels": list(self.channels) if self.channels is not None else None,
                "session_col": self.session or None, "max_gap_s": self.max_gap_s}

    def for_table(self, path: str | Path, given: dict | None = None) -> "TableColumns":
        """These columns with the names a user `given` (None values: unsaid), and the roles left
        unsaid fitted to the file's header: no subject column, none (a table of independent
        recordings reads with the defaults); no sequence column but a subject and a label
        column, a continuous recording cut by label. A column the user named and the file
        lacks stays, for the loader to report."""
        given = {k: v for k, v in (given or {}).items() if v is not None}
        names = scan_table(Path(path)).collect_schema().names()
        columns = replace(self, **given)
        if "subject" not in given and columns.subject and columns.subject not in names:
            columns = replace(columns, subject="")
        continuous = columns.subject in names and columns.label in names and columns.subject and columns.label
        if "sequence" not in given and columns.sequence and columns.sequence not in names and continuous:
            columns = replace(columns, sequence="")
        return columns


def load_long_table(
    path: str | Path,
    *,
    sequence_col: str = "sequence_id",
    subject_col: str | None = "subject",
    label_col: str | None = "label",
    order_col: str = "time",
    channels: Sequence[str] | None = None,
    sample_period_s: float | None = None,
    session_col: str | None = None,
    max_gap_s: float | None = None,
) -> SequenceDataset:
    """Load a one-row-per-sample table into a `SequenceDataset`.

    `subject_col=None`: each sequence is its own subject. `label_col=None`, or a sequence whose
    labels are all empty: unlabelled (-1). Class names are the sorted unique labels, as text.
    `sequence_col=""`: a continuous recording, cut by `session_col` (or else the label) and at
    time steps over `max_gap_s` (`segments.py`).
    """
    path = Path(path)
    continuous = not sequence_col
    if continuous and not (session_col or label_col):
        raise DataError(f"{path}: no sequence column and no label or session column to cut the recording by; "
                        "expected a sequence column, or a label (or session) column whose changes start sequences")
    lazy = scan_table(path, numeric_overrides=channels or (), parse_dates=True)
    schema = lazy.collect_schema()
    named = [c for c in (sequence_col, subject_col, label_col, order_col, session_col) if c]
    require_columns(schema, named, path)
    require_rows(lazy, path)
    if not (schema[order_col].is_numeric() or schema[order_col].is_temporal()):
        # sorting text would put "10" before "9"
        raise DataError(f"{path}: order column {order_col!r} has dtype {schema[order_col]}; expected numbers or datetimes")
    if channels is not None:
        require_columns(schema, channels, path)
        require_numeric(schema, channels, path)
        lazy = lazy.select(*named, *channels)
    frame = collect_table(lazy, path)
    if channels is None:
        channels = _numeric_channels(frame, exclude=named, path=path)
    for name in (sequence_col, subject_col, order_col, session_col):
        if name and frame.get_column(name).null_count():
            raise DataError(f"{path}: column {name!r} has empty cells; expected a value on every row")
    if continuous:
        streams = [c for c in (subject_col, session_col) if c]
        frame, max_gap = cut_streams(
            sort_rows(frame, [*streams, order_col]), stream_col=subject_col, change_col=session_col or label_col,
            change=Cut.SESSION if session_col else Cut.LABEL, order_col=order_col, max_gap_s=max_gap_s,
            unit_s=sample_period_s if schema[order_col].is_integer() else 1.0)
        sequence_col = SEGMENT_COL
    else:
        frame = sort_rows(frame, [sequence_col, order_col])

    per_seq = frame.group_by(sequence_col, maintain_order=True).agg(
        *_one_value_per_sequence(subject_col, "_subject"),
        *_one_value_per_sequence(label_col, "_label"),
        pl.col(order_col).is_duplicated().any().alias("_dup"),
        _median_step_s(order_col, schema[order_col]).alias("_period"),
        *([pl.col(CUT_COL).first(), pl.col(STEP_COL).first()] if continuous else []),
    )
    _check_sequences(per_seq, frame, sequence_col, order_col, subject_col, label_col, path)
    class_names, labels = _encode_labels(per_seq.get_column("_label"))
    period, source = _resolve_period(per_seq.get_column("_period"), sample_period_s, order_col, schema[order_col], path)
    ids, sequences = split_sequences(frame, sequence_col, channels)
    ids = np.asarray([str(i) for i in ids])
    n = len(ids)
    extras = {PERIOD_SOURCE_KEY: np.full(n, source.value),
              MEASURED_PERIOD_KEY: per_seq.get_column("_period").cast(pl.Float64).fill_null(np.nan).to_numpy()}
    if continuous:
        extras.update({CUT_KEY: per_seq.get_column(CUT_COL).to_numpy().astype(str),
                       GAP_KEY: per_seq.get_column(STEP_COL).fill_null(np.nan).to_numpy(),
                       MAX_GAP_KEY: np.full(n, max_gap)})
    return SequenceDataset(
        sequences=sequences,
        channels=tuple(channels),
        units=("",) * len(channels),  # a generic table does not say its units
        sample_period_s=period,
        labels=labels,
        class_names=class_names,
        subjects=per_seq.get_column("_subject").cast(pl.String).to_numpy() if subject_col else ids,
        sequence_ids=ids,
        extras=extras,
        name=path.stem,
    )


def _numeric_channels(frame: pl.DataFrame, exclude: Sequence[str], path: Path) -> list[str]:
    """Numeric columns, plus text columns whose every non-empty cell is a number (CSV inference
    reads a column that starts with many empty cells as text). All-empty columns are left out:
    nothing says they hold numbers."""
    found = []
    for name, dtype in frame.schema.items():
        if name in exclude:
            continue
        column = frame.get_column(name)
        if dtype.is_numeric():
            found.append(name)
        elif dtype == pl.String and column.null_count() < len(column):
            if column.cast(pl.Float64, strict=False).null_count() == column.null_count():
                found.append(name)
    if not found:
        raise DataError(f"{path}: no numeric channel columns besides {list(exclude)}; the file has {frame.columns}")
    return found


def _one_value_per_sequence(column: str | None, alias: str) -> list[pl.Expr]:
    if column is None:
        return [pl.lit(None).alias(alias), pl.lit(0, dtype=pl.UInt32).alias(f"{alias}_n")]
    values = pl.col(column).drop_nulls()
    return [values.first().alias(alias), values.n_unique().alias(f"{alias}_n")]


def _median_step_s(order_col: str, dtype: pl.DataType) -> pl.Expr:
    step = pl.col(order_col).diff().drop_nulls()
    if dtype.is_temporal():
        return step.dt.total_microseconds().median() / 1e6
    if dtype.is_float():
        return step.median()
    return pl.lit(None, dtype=pl.Float64)  # an integer counter says nothing about time


def _check_sequences(
    per_seq: pl.DataFrame,
    frame: pl.DataFrame,
    sequence_col: str,
    order_col: str,
    subject_col: str | None,
    label_col: str | None,
    path: Path,
) -> None:
    """One subject and one label per sequence, and no repeated order value within a sequence."""
    for column, alias in ((subject_col, "_subject"), (label_col, "_label")):
        mixed = per_seq.filter(pl.col(f"{alias}_n") > 1)
        if column is not None and mixed.height:
            seq = mixed.item(0, sequence_col)
            values = frame.filter(pl.col(sequence_col) == seq).get_column(column).drop_nulls().unique().sort()
            raise DataError(f"{path}: sequence {seq!r} has several {column!r} values {values.to_list()}; expected one")
    if per_seq.get_column("_dup").any():
        dup = frame.filter(pl.struct(sequence_col, order_col).is_duplicated()).row(0, named=True)
        raise DataError(
            f"{path}: sequence {dup[sequence_col]!r} has two rows with {order_col}={dup[order_col]}; expected unique"
        )


def _encode_labels(per_seq_labels: pl.Series) -> tuple[tuple[str, ...], np.ndarray]:
    present = per_seq_labels.drop_nulls().unique().sort()  # sorted in the label's own dtype: 2 before 10
    index = {v: i for i, v in enumerate(present.to_list())}
    labels = np.array([UNLABELLED if v is None else index[v] for v in per_seq_labels.to_list()], dtype=np.int64)
    return tuple(str(v) for v in present.to_list()), labels


def _resolve_period(
    per_seq_period: pl.Series, given: float | None, order_col: str, dtype: pl.DataType, path: Path
) -> tuple[float, PeriodSource]:
    if given is not None:
        return float(given), PeriodSource.GIVEN
    measured = per_seq_period.drop_nulls().drop_nans()
    if not (dtype.is_temporal() or dtype.is_float()):
        raise DataError(
            f"{path}: order column {order_col!r} is {dtype}, a counter with no time; pass sample_period_s "
            f"(edgekit train: data.sample_rate_hz=HZ), or give the time as seconds (float) or a datetime"
        )
    if measured.len() == 0:
        raise DataError(f"{path}: every sequence has one sample, so {order_col!r} gives no period; pass sample_period_s")
    period = float(measured.median())
    if not period > 0:
        raise DataError(f"{path}: median step of {order_col!r} is {period} s; expected a positive time step")
    return period, PeriodSource.TIMESTAMPS


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
