"""Sample sources for `edgekit stream`: CSV, Parquet or CSV lines on stdin, one sample at a time.

A source is a long table: one row per sample, the feature spec's raw input columns
(`FeatureSpec.input_columns()`, e.g. `acc_x, acc_y, acc_z, rot_w, ...`), and optionally a stream
column, a time column and `handedness` (0 left, 1 right; read from a stream's first row).

Streams: each value of the stream column (`SourceOptions.stream_column`, the CLI's `--stream-col`;
by default `sequence_id`, else `subject`, else the whole table is one stream) is an independent
stream: bridge and model state reset between streams, and each stream's time is checked on its own
(a table of several subjects restarts its time at each one). A file whose streams interleave (a
stream's rows come back after another's began) is regrouped, each stream's rows in their order,
streams in order of first appearance; stdin cannot be read ahead, so there a stream that comes back
restarts as a new stream, reported (`interleaved`).

The input policy (what `edgekit stream` does with imperfect data), applied by `apply_policy`:

| what | policy |
|---|---|
| malformed line (wrong field count, a value that is not a number, a bad time, an unterminated quote) | skipped and reported with its line number (`Issue(kind="malformed")`); never fatal. A record is one line (quoted fields never span lines), so a stray quote costs only its own line |
| binary line (control bytes such as NUL, or bytes that are not UTF-8), in any field | skipped and reported as `malformed` with a count of the bad bytes, never echoing them; a garbled stream value (`sequence_id`, `--stream-col`) never starts a new stream |
| NaN / empty / `null` / `NA` value | passed to the bridge as NaN: the FeatureSpec's NaN policy (`HOLD_LAST`: hold the last valid value, ToF −1 = no return) applies exactly as in training |
| an input column absent from the header | NaN in every sample (reported once); an absent accelerometer column is an error |
| out-of-order or duplicate time (not at least half a period after the stream's previous sample) | dropped and reported (`out_of_order`, naming the stream column and `--stream-col`): the bridge's state cannot go back in time |
| gap of k missing samples, 1 ≤ k ≤ `max_gap_samples` | k all-NaN samples are inserted (`filled=True`) so windows keep wall-clock time; the NaN policy holds the last values; reported (`gap`) |
| gap longer than `max_gap_samples` | the stream restarts (a new `segment`: bridge and model state reset), reported (`gap_restart`) |

Time columns: `time`, `timestamp` or `t` (seconds), `sequence_counter` (sample index); or name one
with its unit. Without a time column, rows are taken as consecutive samples (no gap detection).
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import re
import sys
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import IO, Iterable, Iterator, Sequence

import numpy as np

from edgekit.errors import DataError

SEQUENCE_COLUMN = "sequence_id"
SUBJECT_COLUMN = "subject"  # the stream column when the table has no SEQUENCE_COLUMN
HANDEDNESS_COLUMN = "handedness"
TIME_COLUMNS: tuple[tuple[str, str], ...] = (("time", "s"), ("timestamp", "s"), ("t", "s"),
                                              ("sequence_counter", "samples"))
MISSING_TOKENS = frozenset({"", "nan", "na", "null", "none"})
# control bytes but tab, DEL, and U+FFFD (what `errors="replace"` makes of bytes that are not UTF-8)
_NOT_TEXT = re.compile("[\x00-\x08\x0a-\x1f\x7f\ufffd]")
DEFAULT_MAX_GAP_SAMPLES = 25
STDIN = "-"


class TimeUnit(Enum):
    SECONDS = "s"
    MILLISECONDS = "ms"
    SAMPLES = "samples"


@dataclass(frozen=True)
class Sample:
    """One sample in `spec.input_columns()` order (NaN where missing)."""

    line: int  # 1-based line of a CSV (header is line 1) or 1-based row of a Parquet table
    sequence: str  # the stream: the stream column's value ("" without one)
    time_s: float | None  # seconds since the table's time origin; None without a time column
    values: np.ndarray  # (n_inputs,) float32
    handedness: int | None = None
    filled: bool = False  # inserted by the gap policy (all NaN)
    segment: int = 0  # bumped by a gap longer than the policy allows: a new stream
    where: str = "line"  # how `line` counts: "line" (CSV) or "row" (Parquet)
    stream_column: str = ""  # the column `sequence` comes from; "" when the table is one stream


@dataclass(frozen=True)
class Issue:
    """Something the input policy did with a line; the stream carries on."""

    line: int
    # malformed | missing_column | out_of_order | interleaved | gap | gap_restart; the streamer adds
    # out_of_range | non_finite_logits
    kind: str
    message: str
    where: str = "line"  # "line" for CSV, "row" for Parquet

    def __str__(self) -> str:
        return f"{self.where} {self.line}: {self.message}" if self.line else self.message


Event = Sample | Issue


@dataclass(frozen=True)
class SourceOptions:
    time_column: str | None = None  # None: the first of TIME_COLUMNS present
    time_unit: TimeUnit | None = None  # None: from TIME_COLUMNS (seconds unless sequence_counter)
    handedness: int = 1  # when the table has no handedness column
    max_gap_samples: int = DEFAULT_MAX_GAP_SAMPLES
    # whose values are independent streams; None: SEQUENCE_COLUMN, else SUBJECT_COLUMN, else one
    # stream; "": one stream
    stream_column: str | None = None


@dataclass
class _Layout:
    """Where each needed value sits in a row."""

    inputs: list[int | None]  # per input column: its index in the row, or None when absent
    sequence: int | None  # the stream column's index
    stream_column: str  # its name ("" for one stream)
    time: int | None
    time_scale: float  # multiply the time value by this to get seconds (samples: the period)
    handedness: int | None
    width: int
    missing: list[str] = field(default_factory=list)


def _layout(header: Sequence[str], input_columns: Sequence[str], required: Sequence[str], options: SourceOptions,
            sample_period_s: float, where: str) -> _Layout:
    names = [h.strip() for h in header]
    index = {name: i for i, name in enumerate(names)}
    absent_required = [c for c in required if c not in index]
    if absent_required:
        raise DataError(f"{where}: columns {absent_required} are missing; the model's feature spec reads "
                        f"{list(input_columns)[:8]}{' ...' if len(input_columns) > 8 else ''} (header has "
                        f"{names[:8]}{' ...' if len(names) > 8 else ''})")
    time_col, unit = options.time_column, options.time_unit
    if time_col is None:
        found = next(((name, u) for name, u in TIME_COLUMNS if name in index), None)
        if found is not None:
            time_col, unit = found[0], unit or TimeUnit(found[1])
    elif time_col not in index:
        raise DataError(f"{where}: time column {time_col!r} not in the header {names[:12]}")
    unit = unit or TimeUnit.SECONDS
    scale = {TimeUnit.SECONDS: 1.0, TimeUnit.MILLISECONDS: 1e-3, TimeUnit.SAMPLES: sample_period_s}[unit]
    stream = _stream_column(names, options, where)
    return _Layout(inputs=[index.get(c) for c in input_columns], sequence=index.get(stream) if stream else None,
                   stream_column=stream, time=index.get(time_col) if time_col else None, time_scale=scale,
                   handedness=index.get(HANDEDNESS_COLUMN), width=len(names),
                   missing=[c for c in input_columns if c not in index])


def _number(text: str) -> float:
    """A float, NaN for the missing tokens; ValueError for anything else."""
    stripped = text.strip()
    if stripped.lower() in MISSING_TOKENS:
        return math.nan
    return float(stripped)


def _not_text(text: str) -> str | None:
    """Why `text` (one line, terminator stripped) is binary rather than CSV, or None. Said without
    echoing the bytes: they would garble a terminal or a JSON consumer."""
    first = _NOT_TEXT.search(text)
    if first is None:
        return None
    count = len(_NOT_TEXT.findall(text))
    return (f"not text: {count} control or undecodable byte{'s' if count > 1 else ''} "
            f"(first at column {first.start() + 1}, {_shown(first.group())})")


def _shown(text: str, limit: int = 24) -> str:
    """A field as it may appear in a message: escaped (`\\x00`, never raw bytes) and cut short."""
    return ascii(text if len(text) <= limit else text[:limit] + "...")


def _stream_column(names: Sequence[str], options: SourceOptions, where: str) -> str:
    """The column whose values are the streams ("" for one stream), as `SourceOptions` says."""
    stream = options.stream_column
    if stream is None:
        return next((c for c in (SEQUENCE_COLUMN, SUBJECT_COLUMN) if c in names), "")
    if stream and stream not in names:
        raise DataError(f"{where}: stream column {stream!r} (--stream-col) is not in the header {list(names)[:12]}; "
                        "expected one of its columns, or '' to read the table as one stream")
    return stream


def _fields(text: str) -> list[str]:
    """One physical line's fields. A record never spans lines, so an unterminated quote costs its own
    line only instead of swallowing every line up to the next quote (`strict` makes it an error)."""
    return next(csv.reader([text], strict=True), [])


def _csv_events(lines: Iterable[str], where: str, input_columns: Sequence[str], required: Sequence[str],
                options: SourceOptions, sample_period_s: float) -> Iterator[Event]:
    numbered = enumerate(lines, start=1)
    try:
        _, first = next(numbered)
    except StopIteration:
        raise DataError(f"{where}: empty input; expected a CSV header with the columns "
                        f"{list(input_columns)[:6]} ...") from None
    problem = _not_text(first.rstrip("\r\n"))
    if problem:
        raise DataError(f"{where}: line 1: {problem}; expected a CSV header with the columns "
                        f"{list(input_columns)[:6]} ...")
    try:
        header = _fields(first)
    except csv.Error as exc:
        raise DataError(f"{where}: line 1: unreadable CSV header ({exc})") from None
    layout = _layout(header, input_columns, required, options, sample_period_s, where)
    if layout.missing:
        yield Issue(0, "missing_column", f"{where}: columns {layout.missing[:6]}{' ...' if len(layout.missing) > 6 else ''}"
                                         " are absent: NaN in every sample (the spec's NaN policy applies)")
    for line, text in numbered:
        problem = _not_text(text.rstrip("\r\n"))
        if problem:
            yield Issue(line, "malformed", f"{problem}; skipped")
            continue
        try:
            row = _fields(text)
        except csv.Error as exc:  # e.g. an unterminated quote
            yield Issue(line, "malformed", f"unreadable CSV ({exc}); skipped")
            continue
        if not row:
            continue  # blank line
        if len(row) != layout.width:
            yield Issue(line, "malformed", f"{len(row)} fields, expected {layout.width} (the header's); skipped")
            continue
        yield _parse_row(row, layout, line, options)


def _parse_row(row: Sequence[str], layout: _Layout, line: int, options: SourceOptions) -> Sample | Issue:
    values = np.full(len(layout.inputs), np.nan, dtype=np.float32)
    for j, col in enumerate(layout.inputs):
        if col is None:
            continue
        try:
            values[j] = _number(row[col])
        except ValueError:
            return Issue(line, "malformed", f"column {col + 1} ({_shown(row[col])}) is not a number; skipped")
    time_s = None
    if layout.time is not None:
        try:
            t = _number(row[layout.time])
        except ValueError:
            t = math.nan
        if not math.isfinite(t):
            return Issue(line, "malformed", f"time {_shown(row[layout.time])} is not a finite number; skipped")
        time_s = t * layout.time_scale
    handedness = options.handedness
    if layout.handedness is not None:
        try:
            handedness = int(float(row[layout.handedness]))
        except ValueError:
            handedness = -1
        if handedness not in (0, 1):
            return Issue(line, "malformed", f"handedness {_shown(row[layout.handedness])}; expected 0 or 1; skipped")
    sequence = row[layout.sequence].strip() if layout.sequence is not None else ""
    return Sample(line, sequence, time_s, values, handedness, stream_column=layout.stream_column)


def _parquet_events(path: Path, input_columns: Sequence[str], required: Sequence[str], options: SourceOptions,
                    sample_period_s: float) -> Iterator[Event]:
    import polars as pl

    try:
        frame = pl.read_parquet(path)
    except Exception as exc:  # polars raises several unrelated types for unreadable files
        raise DataError(f"{path}: not a readable Parquet file ({type(exc).__name__}: {exc})") from None
    layout = _layout(frame.columns, input_columns, required, options, sample_period_s, str(path))
    if layout.missing:
        yield Issue(0, "missing_column", f"{path}: columns {layout.missing[:6]} are absent: NaN in every sample")
    n = frame.height
    values = np.full((n, len(input_columns)), np.nan, dtype=np.float32)
    for j, col in enumerate(layout.inputs):
        if col is not None:
            values[:, j] = frame.get_column(frame.columns[col]).cast(pl.Float32, strict=False) \
                .fill_null(float("nan")).to_numpy()
    col_of = frame.columns.__getitem__
    seqs = frame.get_column(col_of(layout.sequence)).cast(pl.String).to_list() if layout.sequence is not None \
        else [""] * n
    times = frame.get_column(col_of(layout.time)).cast(pl.Float64, strict=False).to_numpy() \
        if layout.time is not None else None
    hands = frame.get_column(col_of(layout.handedness)).cast(pl.Int64, strict=False).to_list() \
        if layout.handedness is not None else None
    for i in _grouped(seqs):
        time_s = None
        if times is not None:
            if not np.isfinite(times[i]):
                yield Issue(i + 1, "malformed", "time is missing or not a number; skipped", where="row")
                continue
            time_s = float(times[i]) * layout.time_scale
        problem = _not_text(seqs[i] or "")
        if problem:  # a garbled id must not start a new stream (a bridge and model reset)
            yield Issue(i + 1, "malformed", f"{layout.stream_column} is {problem}; skipped", where="row")
            continue
        hand = options.handedness if hands is None else hands[i]
        if hand not in (0, 1):
            yield Issue(i + 1, "malformed", f"handedness {hand!r}; expected 0 or 1; skipped", where="row")
            continue
        yield Sample(i + 1, seqs[i] or "", time_s, values[i], hand, where="row", stream_column=layout.stream_column)


def read_events(source: str | Path | IO[str], input_columns: Sequence[str], *, required: Sequence[str] = (),
                options: SourceOptions = SourceOptions(), sample_period_s: float = 0.02) -> Iterator[Event]:
    """Raw samples and parse issues, in input order: `source` is a `.csv`/`.parquet` path, `-`
    (CSV on stdin) or an open text stream. Columns in `required` must be in the header."""
    if not isinstance(source, (str, Path)):
        yield from _csv_events(source, "<stream>", input_columns, required, options, sample_period_s)
        return
    if str(source) == STDIN:
        if not hasattr(sys.stdin, "buffer"):
            yield from _csv_events(sys.stdin, "<stdin>", input_columns, required, options, sample_period_s)
            return
        # sys.stdin decodes strictly: binary input would end the stream with a UnicodeDecodeError
        stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", errors="replace", newline="")
        try:
            yield from _csv_events(stdin, "<stdin>", input_columns, required, options, sample_period_s)
        finally:
            stdin.detach()  # closing the wrapper would close the process's stdin
        return
    path = Path(source)
    if not path.is_file():
        raise DataError(f"{path}: no such input file; expected a .csv or .parquet table, or - for stdin")
    if path.suffix.lower() == ".parquet":
        yield from _parquet_events(path, input_columns, required, options, sample_period_s)
        return
    events = _csv_file_events(path, input_columns, required, options, sample_period_s)
    yield from _by_stream(events) if _interleaved(_csv_stream_values(path, options)) else events


def _csv_file_events(path: Path, input_columns: Sequence[str], required: Sequence[str], options: SourceOptions,
                     sample_period_s: float) -> Iterator[Event]:
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as handle:  # -sig: drop a BOM
        yield from _csv_events(handle, str(path), input_columns, required, options, sample_period_s)


def _grouped(streams: Sequence[str]) -> Iterable[int]:
    """Row indices with each stream's rows together (in their order), streams in order of first
    appearance: a table read stream by stream comes back in its own order."""
    rank: dict[str, int] = {}
    codes = np.fromiter((rank.setdefault(v, len(rank)) for v in streams), dtype=np.int64, count=len(streams))
    return np.argsort(codes, kind="stable").tolist()


def _by_stream(events: Iterable[Event]) -> Iterator[Event]:
    """A file's events with each stream's together, streams in order of first appearance (see the
    module docstring); held in memory, so only for files whose streams interleave. An issue stays
    with the stream of the sample before it."""
    groups: dict[str | None, list[Event]] = {None: []}  # issues before the first sample
    current = None
    for event in events:
        if isinstance(event, Sample):
            current = event.sequence
        groups.setdefault(current, []).append(event)
    for grouped in groups.values():
        yield from grouped


def _csv_stream_values(path: Path, options: SourceOptions) -> Iterator[str]:
    """The stream column's value on each readable line of a CSV file, read without parsing the
    samples: what `_interleaved` decides on before the file is streamed."""
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as handle:
        try:
            names = _fields(next(handle, ""))
        except csv.Error:
            return  # `_csv_events` reports the header
        column = _stream_column(names, options, str(path))
        if not column:
            return
        at = names.index(column)
        for text in handle:
            try:
                row = _fields(text)
            except csv.Error:
                continue
            if len(row) > at:
                yield row[at].strip()


def _interleaved(streams: Iterable[str]) -> bool:
    """Whether a stream's rows come back after another stream's began."""
    runs = [value for value, _ in itertools.groupby(streams)]
    return len(runs) != len(set(runs))


def apply_policy(events: Iterable[Event], sample_period_s: float,
                 max_gap_samples: int = DEFAULT_MAX_GAP_SAMPLES) -> Iterator[Event]:
    """The time policy of the module docstring, stream by stream: drop out-of-order samples, fill
    short gaps with NaN samples, restart the stream after a long gap. Issues pass through unchanged."""
    last_time: float | None = None
    sequence: str | None = None
    seen: set[str] = set()
    segment = 0
    for event in events:
        if isinstance(event, Issue):
            yield event
            continue
        if event.sequence != sequence:
            if event.sequence in seen:  # only where the input cannot be regrouped (stdin)
                yield Issue(event.line, "interleaved", f"{event.stream_column} {event.sequence!r} comes back after "
                            "another stream began; it restarts as a new stream (send each stream's rows together, "
                            "or stream a file: its rows are regrouped)", event.where)
            sequence, last_time, segment = event.sequence, None, 0
            seen.add(sequence)
        if event.time_s is None or last_time is None:
            last_time = event.time_s
            yield _with(event, segment)
            continue
        steps = round((event.time_s - last_time) / sample_period_s)
        if steps <= 0:
            yield Issue(event.line, "out_of_order", f"time {event.time_s:.6g} s is not after the previous sample's "
                                                    f"{last_time:.6g} s {_in_stream(event)}; dropped (several "
                                                    "recordings in one table? --stream-col COLUMN streams each value "
                                                    "of COLUMN on its own)", event.where)
            continue
        if steps - 1 > max_gap_samples:
            segment += 1
            yield Issue(event.line, "gap_restart", f"{steps - 1} samples missing before this one (more than "
                                                   f"{max_gap_samples}); the stream restarts here", event.where)
        elif steps > 1:
            yield Issue(event.line, "gap", f"{steps - 1} samples missing before this one; filled with NaN samples "
                                           "(the NaN policy holds the last values)", event.where)
            nan = np.full_like(event.values, np.nan)
            for k in range(1, steps):
                yield replace(event, time_s=last_time + k * sample_period_s, values=nan, filled=True, segment=segment)
        last_time = event.time_s
        yield _with(event, segment)


def _with(sample: Sample, segment: int) -> Sample:
    return sample if sample.segment == segment else replace(sample, segment=segment)


def _in_stream(sample: Sample) -> str:
    if sample.stream_column:
        return f"in stream {sample.stream_column}={sample.sequence!r}"
    return "(the table is read as one stream)"


def read_samples(source: str | Path | IO[str], input_columns: Sequence[str], sample_period_s: float, *,
                 required: Sequence[str] = (), options: SourceOptions = SourceOptions()) -> Iterator[Event]:
    """`read_events` with the time policy applied: what `edgekit stream` consumes."""
    return apply_policy(read_events(source, input_columns, required=required, options=options,
                                    sample_period_s=sample_period_s),
                        sample_period_s, options.max_gap_samples)
