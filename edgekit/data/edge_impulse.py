"""Edge Impulse data-acquisition files: a folder of samples (or one file), one sequence per sample.

Read from Edge Impulse's published description ("Data acquisition format" and "CSV data
acquisition" in docs.edgeimpulse.com):
- JSON: `{"protected": {"ver": "v1", "alg": "HS256", "iat": ...}, "signature": "...", "payload":
  {"device_name": ..., "device_type": ..., "interval_ms": 10, "sensors": [{"name": "accX",
  "units": "m/s2"}, ...], "values": [[...], ...]}}`: one row of values per sample, one value per
  sensor (a flat list when there is one sensor). The signature proves a file's origin to Edge
  Impulse's ingestion service with a key only the project holds; it is not checked here.
- CSV: the first column `timestamp` in milliseconds, then one column per axis, and optionally a
  `label` column. A label per row makes a multi-label sample: it is cut where the label changes
  and at time gaps, as any continuous recording (`segments.py`).
The label is the file name's prefix before its first dot (`idle.3f9a2c.json` → "idle"), as Edge
Impulse's uploader reads it; a CSV `label` column wins. A Studio export keeps its samples in
`training/` and `testing/`: `split="train"|"test"` picks one, and a folder holding only those two
reads `training/`. CBOR acquisition files are not read.

Sample period: `interval_ms` (JSON; source "documented": the file states it) or the median step
of `timestamp` (CSV; source "timestamps"); every file must agree within `PERIOD_TOLERANCE`, since
a dataset has one rate. Edge Impulse names no subjects, so each sample is its own subject; a
JSON file's `device_name` (or `device_type`) is kept in `extras["device"]`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from edgekit.data.dataset import SequenceDataset
from edgekit.data.inspect import MEASURED_PERIOD_KEY, PERIOD_SOURCE_KEY, PeriodSource
from edgekit.data.long_table import (collect_table, require_numeric, require_rows, scan_table, sort_rows,
                                     split_sequences)
from edgekit.data.segments import CUT_COL, CUT_KEY, GAP_KEY, MAX_GAP_KEY, SEGMENT_COL, STEP_COL, Cut, cut_streams
from edgekit.errors import DataError

TIME_COLUMN, LABEL_COLUMN = "timestamp", "label"
SPLIT_FOLDERS = {"train": "training", "test": "testing"}
SAMPLE_SUFFIXES = (".json", ".csv")
PERIOD_TOLERANCE = 0.01  # relative: files recorded at another rate would be read at the wrong one
_DOC = 'expected an Edge Impulse acquisition file {"payload": {"interval_ms", "sensors", "values"}}'


@dataclass
class _Sample:
    """One file: its pieces (one, or one per label run of a multi-label CSV) and what it says."""

    channels: tuple[str, ...]
    units: tuple[str, ...]
    period_s: float | None
    source: PeriodSource
    device: str = ""
    ids: list[str] = field(default_factory=list)
    labels: list[str | None] = field(default_factory=list)
    arrays: list[np.ndarray] = field(default_factory=list)
    cuts: list[str] = field(default_factory=list)
    steps: list[float] = field(default_factory=list)
    max_gap_s: float = np.inf


def is_edge_impulse(path: Path) -> bool:
    """True for an acquisition file, or a folder (or Studio export) of them (used by `load_dataset`)."""
    path = Path(path)
    if path.is_file():
        return _is_sample_file(path)
    files = _sample_files(path, None, strict=False) if path.is_dir() else []
    return bool(files) and _is_sample_file(files[0])


def is_studio_export(path: Path) -> bool:
    """True for an Edge Impulse Studio export: a folder whose `training/` and `testing/` hold samples."""
    path = Path(path)
    return all((path / name).is_dir() for name in SPLIT_FOLDERS.values()) and is_edge_impulse(path)


def load_edge_impulse(path: str | Path, split: str | None = None) -> SequenceDataset:
    """Load Edge Impulse acquisition files (JSON or CSV) into a `SequenceDataset`."""
    path = Path(path)
    if path.is_file() and split is not None:
        raise DataError(f"{path}: split={split!r} names a folder of a Studio export; expected a folder, or no split")
    files = [path] if path.is_file() else _sample_files(path, split, strict=True)
    root = path.parent if path.is_file() else files[0].parent
    samples = [_read_sample(f, f.relative_to(root).with_suffix("").as_posix()) for f in files]
    channels, units = _common_channels(samples, files)
    period = _common_period(samples, files)
    present = sorted({label for s in samples for label in s.labels if label is not None})
    index = {label: i for i, label in enumerate(present)}
    n_per = [len(s.ids) for s in samples]
    cuts = np.asarray([c for s in samples for c in s.cuts])
    extras = {
        PERIOD_SOURCE_KEY: np.repeat([s.source.value for s in samples], n_per),
        MEASURED_PERIOD_KEY: np.repeat([s.period_s if s.source is PeriodSource.TIMESTAMPS and s.period_s else np.nan
                                        for s in samples], n_per).astype(np.float64),
    }
    if any(s.device for s in samples):
        extras["device"] = np.repeat([s.device for s in samples], n_per)
    if (cuts != Cut.START.value).any():  # some file was cut into several sequences: say how
        extras.update({CUT_KEY: cuts, GAP_KEY: np.asarray([g for s in samples for g in s.steps], dtype=np.float64),
                       MAX_GAP_KEY: np.repeat([s.max_gap_s for s in samples], n_per).astype(np.float64)})
    ids = [i for s in samples for i in s.ids]
    return SequenceDataset(
        sequences=[a for s in samples for a in s.arrays], channels=channels, units=units, sample_period_s=period,
        labels=[-1 if label is None else index[label] for s in samples for label in s.labels],
        class_names=tuple(present), subjects=ids, sequence_ids=ids, extras=extras,
        name=path.stem if path.is_file() else path.name + (f"_{split}" if split else ""),
    )


def _sample_files(folder: Path, split: str | None, *, strict: bool) -> list[Path]:
    """The acquisition files of `folder`, or of its `training/`/`testing/` folder."""
    if split is not None and split not in SPLIT_FOLDERS:
        raise DataError(f"Edge Impulse split {split!r} is not known; expected one of {list(SPLIT_FOLDERS)}")
    exported = any((folder / name).is_dir() for name in SPLIT_FOLDERS.values())
    if split is not None and not exported and strict:
        raise DataError(f"{folder}: split={split!r} but the folder has no {list(SPLIT_FOLDERS.values())} folders "
                        "(a Studio export); expected an export, or no split for a plain folder of samples")
    files = _samples_in(folder)
    if exported and (split is not None or not files):
        files = _samples_in(folder / SPLIT_FOLDERS[split or "train"])
    if not files and strict:
        cbor = sorted(folder.glob("*.cbor"))
        found = f"CBOR files ({cbor[0].name}, ...) are not read; " if cbor else ""
        raise DataError(f"{folder}: no Edge Impulse samples; {found}expected .json or .csv acquisition files")
    return files


def _samples_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*") if p.is_file() and p.suffix.lower() in SAMPLE_SUFFIXES) \
        if folder.is_dir() else []


def _is_sample_file(path: Path) -> bool:
    """A JSON file with a payload of sensors and values, or a CSV whose first column is
    `timestamp` and whose other columns are numbers (or `label`)."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            payload = json.loads(path.read_text()).get("payload")
            return isinstance(payload, dict) and {"sensors", "values"} <= payload.keys()
        if suffix == ".csv":
            schema = scan_table(path).collect_schema()
            names = schema.names()
            return bool(names) and names[0] == TIME_COLUMN and len(names) > 1 and all(
                schema[n].is_numeric() for n in names if n != LABEL_COLUMN)
    except (OSError, ValueError, AttributeError, DataError):
        return False
    return False


def _read_sample(path: Path, sample_id: str) -> _Sample:
    return _read_json(path, sample_id) if path.suffix.lower() == ".json" else _read_csv(path, sample_id)


def _label_from_name(path: Path) -> str:
    return path.name.split(".")[0]


def _read_json(path: Path, sample_id: str) -> _Sample:
    try:
        doc = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(f"{path}: not valid JSON ({err}); {_DOC}") from None
    payload = doc.get("payload") if isinstance(doc, dict) else None
    if not isinstance(payload, dict) or not {"sensors", "values", "interval_ms"} <= payload.keys():
        raise DataError(f"{path}: no payload with interval_ms, sensors and values; {_DOC}")
    sensors = payload["sensors"]
    if not isinstance(sensors, list) or not sensors or not all(isinstance(s, dict) and "name" in s for s in sensors):
        raise DataError(f"{path}: payload.sensors is {sensors!r}; expected a list of {{\"name\", \"units\"}} tables")
    interval = payload["interval_ms"]
    if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not interval > 0:
        raise DataError(f"{path}: payload.interval_ms is {interval!r}; expected a positive number of milliseconds")
    values = _values(payload["values"], len(sensors), path)
    sample = _Sample(channels=tuple(str(s["name"]) for s in sensors), units=tuple(str(s.get("units", "")) for s in sensors),
                     period_s=interval / 1000.0, source=PeriodSource.DOCUMENTED,
                     device=str(payload.get("device_name") or payload.get("device_type") or ""))
    _add_piece(sample, sample_id, _label_from_name(path), values, Cut.START.value, np.nan)
    return sample


def _values(rows: object, n_sensors: int, path: Path) -> np.ndarray:
    """`payload.values` as a `(T, n_sensors)` array; empty cells (null) become NaN."""
    if not isinstance(rows, list) or not rows:
        raise DataError(f"{path}: payload.values is empty or not a list; expected one row per sample")
    if n_sensors == 1 and not isinstance(rows[0], list):
        rows = [[v] for v in rows]
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != n_sensors:
            raise DataError(f"{path}: payload.values row {i} is {row!r}; expected {n_sensors} values, one per sensor")
    try:
        return np.array(rows, dtype=np.float32)
    except (TypeError, ValueError):
        raise DataError(f"{path}: payload.values holds a value that is not a number; expected numbers") from None


def _read_csv(path: Path, sample_id: str) -> _Sample:
    lazy = scan_table(path)
    schema = lazy.collect_schema()
    names = schema.names()
    if not names or names[0] != TIME_COLUMN:
        raise DataError(f"{path}: first column is {names[0] if names else None!r}; expected {TIME_COLUMN!r} "
                        "(milliseconds), then one column per axis")
    channels = [n for n in names[1:] if n != LABEL_COLUMN]
    if not channels:
        raise DataError(f"{path}: no axis columns after {TIME_COLUMN!r}; expected one column per axis")
    require_rows(lazy, path)
    require_numeric(schema, [TIME_COLUMN, *channels], path)
    frame = sort_rows(collect_table(lazy, path), [TIME_COLUMN])
    if frame.get_column(TIME_COLUMN).null_count():
        raise DataError(f"{path}: column {TIME_COLUMN!r} has empty cells; expected a time on every row")
    if frame.get_column(TIME_COLUMN).is_duplicated().any():
        raise DataError(f"{path}: two rows share a {TIME_COLUMN}; expected increasing milliseconds")
    steps = frame.get_column(TIME_COLUMN).diff().drop_nulls()
    period = float(steps.median()) / 1000.0 if steps.len() else None
    sample = _Sample(channels=tuple(channels), units=("",) * len(channels), period_s=period,
                     source=PeriodSource.TIMESTAMPS)
    if LABEL_COLUMN not in names:
        array = frame.select(pl.col(channels).cast(pl.Float32).fill_null(float("nan"))).to_numpy(order="c")
        _add_piece(sample, sample_id, _label_from_name(path), array, Cut.START.value, np.nan)
        return sample
    frame, sample.max_gap_s = cut_streams(frame.with_columns(pl.col(LABEL_COLUMN).cast(pl.String)), stream_col=None,
                                          change_col=LABEL_COLUMN, change=Cut.LABEL, order_col=TIME_COLUMN,
                                          unit_s=1e-3)
    pieces = frame.group_by(SEGMENT_COL, maintain_order=True).agg(
        pl.col(LABEL_COLUMN).first(), pl.col(CUT_COL).first(), pl.col(STEP_COL).first())
    _, arrays = split_sequences(frame, SEGMENT_COL, channels)
    single = len(arrays) == 1
    for k, (row, array) in enumerate(zip(pieces.iter_rows(named=True), arrays)):
        piece_id = sample_id if single else f"{sample_id}:{k}"
        step = np.nan if row[STEP_COL] is None else row[STEP_COL]
        _add_piece(sample, piece_id, row[LABEL_COLUMN], array, row[CUT_COL], step)
    return sample


def _add_piece(sample: _Sample, piece_id: str, label: str | None, array: np.ndarray, cut: str, step: float) -> None:
    sample.ids.append(piece_id)
    sample.labels.append(label)
    sample.arrays.append(array)
    sample.cuts.append(cut)
    sample.steps.append(step)


def _common_channels(samples: list[_Sample], files: list[Path]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The first file's channels; every other file must name the same ones (in any order: its
    arrays are put in the first file's order)."""
    channels, units = samples[0].channels, samples[0].units
    for sample, path in zip(samples[1:], files[1:]):
        if sample.channels == channels:
            continue
        if sorted(sample.channels) != sorted(channels):
            raise DataError(f"{path}: sensors {list(sample.channels)}; expected those of {files[0].name}: "
                            f"{list(channels)}")
        order = [sample.channels.index(c) for c in channels]
        sample.arrays = [a[:, order] for a in sample.arrays]
        sample.channels, sample.units = channels, tuple(sample.units[i] for i in order)
    return channels, units


def _common_period(samples: list[_Sample], files: list[Path]) -> float:
    known = [(s.period_s, f) for s, f in zip(samples, files) if s.period_s is not None]
    if not known:
        raise DataError(f"{files[0]}: every sample has one row, so no sample period; expected two rows or more")
    first, first_file = known[0]
    for p, f in known[1:]:
        if abs(p - first) > PERIOD_TOLERANCE * first:
            raise DataError(f"{f}: sample period {p * 1000:g} ms; expected {first_file.name}'s {first * 1000:g} ms "
                            "(a dataset has one rate: resample it, or load it separately)")
    return float(np.median([p for p, _ in known]))  # the files agree within the tolerance: their typical rate
