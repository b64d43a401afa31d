"""Loader for the CMI "Detect Behavior with Sensor Data" Kaggle files (train/test, CSV or Parquet).

The real `train.csv` is ~1 GB (575 K rows x 341 columns), so it is read lazily with Polars: the
schema is checked before anything is parsed, only the needed columns are read, sensor columns are
parsed straight to float32, and the samples are copied once into one C-ordered block that the
per-sequence arrays slice.

What the dataset holds:
- channels: `cmi_schema.SENSOR_COLUMNS` (acc 3, rot 4, thm 5, tof 320), float32, NaN where the
  file is empty. ToF -1 ("no return") is kept as -1: the feature pipeline treats it as missing.
- labels: index into `cmi_schema.GESTURES`; a test file (no label columns) gives -1.
- extras, one entry per sequence: `handedness` (int, from the demographics, 1 = right when the
  subject or the table is unknown); for train files also `sequence_type` and `orientation`
  (strings from `cmi_schema.SEQUENCE_TYPES` / `ORIENTATIONS`) and, per sample, `phase` and
  `behavior` (object arrays of int8 arrays indexing `cmi_schema.PHASES` / `BEHAVIORS`; a
  behaviour not in `BEHAVIORS` is coded -1 and logged).
- sequences of a single sample are allowed: they are real rows, and windowing decides what to do
  with short sequences.
- the competition gives no sample rate: `sample_period_s` is assumed (see `cmi_schema`) and
  marked "assumed" for `inspect_dataset`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import polars as pl

from edgekit.data import cmi_schema as cs
from edgekit.data.dataset import UNLABELLED, SequenceDataset
from edgekit.data.inspect import PERIOD_SOURCE_KEY, PeriodSource
from edgekit.data.long_table import (
    CSV_SUFFIXES,
    PARQUET_SUFFIXES,
    collect_table,
    require_columns,
    require_numeric,
    require_rows,
    scan_table,
    sort_rows,
    split_sequences,
)
from edgekit.errors import DataError

log = logging.getLogger(__name__)

KEY_COLUMNS: tuple[str, ...] = ("sequence_id", "sequence_counter", "subject")
SENSOR_UNITS: tuple[str, ...] = (
    ("m/s^2",) * len(cs.ACC_COLUMNS)
    + ("1",) * len(cs.ROT_COLUMNS)
    + ("degC",) * len(cs.THM_COLUMNS)
    + ("raw",) * len(cs.TOF_COLUMNS)
)
DEFAULT_RIGHT_HANDED = 1  # most subjects are right-handed; an unknown subject is not mirrored


def is_cmi_table(schema: pl.Schema) -> bool:
    """True when a table is meant as CMI (used by `load_dataset`): the CMI key columns and at least
    one CMI sensor or label column. Not all of them: a CMI file missing `acc_x` must be reported
    by `load_cmi` as such, not by the long-table loader as a missing `label`."""
    return all(c in schema for c in KEY_COLUMNS) and any(c in schema for c in cs.SENSOR_COLUMNS + cs.LABEL_COLUMNS)


def load_cmi(
    path: str | Path,
    demographics_path: str | Path | None = None,
    *,
    sample_period_s: float = cs.SIM_SAMPLE_PERIOD_S,
) -> SequenceDataset:
    """Load a CMI `train`/`test` table; demographics default to `<stem>_demographics.csv|.parquet`
    next to it when present."""
    path = Path(path)
    lazy = scan_table(path, numeric_overrides=cs.SENSOR_COLUMNS)
    schema = lazy.collect_schema()
    labelled = any(c in schema for c in cs.LABEL_COLUMNS)
    label_columns = cs.LABEL_COLUMNS if labelled else ()
    require_columns(schema, KEY_COLUMNS + label_columns + cs.SENSOR_COLUMNS, path, kind="CMI")
    require_rows(lazy, path)
    require_numeric(schema, ("sequence_counter",) + cs.SENSOR_COLUMNS, path)

    frame = collect_table(
        lazy.select(
            pl.col("sequence_id").cast(pl.String),
            pl.col("sequence_counter"),
            pl.col("subject").cast(pl.String),
            *label_columns,
            pl.col(cs.SENSOR_COLUMNS).cast(pl.Float32).fill_null(float("nan")),
        ),
        path,
    )
    frame = sort_rows(frame, ["sequence_id", "sequence_counter"])
    for name in KEY_COLUMNS + (("gesture",) if labelled else ()):
        if frame.get_column(name).null_count():
            raise DataError(f"{path}: column {name!r} has empty cells; expected a value on every row")

    per_seq = _per_sequence(frame, labelled, path)
    demographics = _load_demographics(_demographics_path(path, demographics_path))
    handedness = _handedness(per_seq.get_column("subject"), demographics)
    n = per_seq.height
    extras: dict[str, np.ndarray] = {
        "handedness": handedness,
        PERIOD_SOURCE_KEY: np.full(n, PeriodSource.ASSUMED.value),
    }
    if labelled:
        labels = _gesture_labels(per_seq.get_column("gesture"), path)
        extras["sequence_type"] = _checked_strings(per_seq, "sequence_type", cs.SEQUENCE_TYPES, path)
        extras["orientation"] = _checked_strings(per_seq, "orientation", cs.ORIENTATIONS, path)
        extras.update(_per_sample_codes(frame, per_seq.get_column("len").to_numpy(), path))
    else:
        labels = np.full(n, UNLABELLED, dtype=np.int64)

    ids, sequences = split_sequences(frame, "sequence_id", cs.SENSOR_COLUMNS)
    return SequenceDataset(
        sequences=sequences,
        channels=cs.SENSOR_COLUMNS,
        units=SENSOR_UNITS,
        sample_period_s=sample_period_s,
        labels=labels,
        class_names=cs.GESTURES,
        subjects=per_seq.get_column("subject").to_numpy(),
        sequence_ids=ids,
        demographics=demographics,
        extras=extras,
        name=f"cmi_{path.stem}",
    )


def _per_sequence(frame: pl.DataFrame, labelled: bool, path: Path) -> pl.DataFrame:
    """One row per sequence (in frame order), after checking what must be constant in a sequence."""
    constant = ("subject",) + (("gesture", "sequence_type", "orientation") if labelled else ())
    per_seq = frame.group_by("sequence_id", maintain_order=True).agg(
        pl.len(),
        pl.col("sequence_counter").is_duplicated().any().alias("_dup"),
        *[pl.col(c).first() for c in constant],
        # a comparison with the first value is much cheaper than n_unique on 575 K strings
        *[pl.col(c).ne_missing(pl.col(c).first()).any().alias(f"_mixed_{c}") for c in constant],
    )
    for column in constant:
        mixed = per_seq.filter(pl.col(f"_mixed_{column}"))
        if mixed.height:
            seq = mixed.item(0, "sequence_id")
            values = frame.filter(pl.col("sequence_id") == seq).get_column(column).unique().sort(nulls_last=True)
            raise DataError(f"{path}: sequence {seq!r} has several {column!r} values {values.to_list()}; expected one")
    duplicated = per_seq.filter(pl.col("_dup"))
    if duplicated.height:
        seq = duplicated.item(0, "sequence_id")
        counters = frame.filter(pl.col("sequence_id") == seq).get_column("sequence_counter")
        repeated = counters.filter(counters.is_duplicated()).first()
        raise DataError(
            f"{path}: sequence {seq!r} has two rows with sequence_counter={repeated}; expected unique counters"
        )
    return per_seq


def _gesture_labels(gestures: pl.Series, path: Path) -> np.ndarray:
    unknown = sorted(set(gestures.unique().to_list()) - set(cs.GESTURES))
    if unknown:
        raise DataError(f"{path}: column 'gesture' has unknown gesture {unknown[0]!r}; expected one of {list(cs.GESTURES)}")
    index = {g: i for i, g in enumerate(cs.GESTURES)}
    return np.array([index[g] for g in gestures.to_list()], dtype=np.int64)


def _checked_strings(per_seq: pl.DataFrame, column: str, allowed: tuple[str, ...], path: Path) -> np.ndarray:
    values = per_seq.get_column(column)
    unknown = values.filter(~values.is_in(list(allowed)) | values.is_null())
    if unknown.len():
        raise DataError(f"{path}: column {column!r} has value {unknown[0]!r}; expected one of {list(allowed)}")
    return values.to_numpy().astype(str)


def _per_sample_codes(frame: pl.DataFrame, lengths: np.ndarray, path: Path) -> dict[str, np.ndarray]:
    """`phase` and `behavior` per sample, as one int8 array per sequence (for auxiliary heads)."""
    phases = frame.get_column("phase")
    unknown_phase = phases.filter(~phases.is_in(list(cs.PHASES)) | phases.is_null())
    if unknown_phase.len():
        raise DataError(f"{path}: column 'phase' has value {unknown_phase[0]!r}; expected one of {list(cs.PHASES)}")
    behaviors = frame.get_column("behavior")
    unknown_behavior = behaviors.filter(~behaviors.is_in(list(cs.BEHAVIORS))).unique().to_list()
    if unknown_behavior:
        # The real files use a behaviour the schema may not list yet; the code -1 says "not in
        # cmi_schema.BEHAVIORS" rather than guessing a neighbouring index.
        log.warning("%s: behaviour values %s are not in cmi_schema.BEHAVIORS; coded -1", path, unknown_behavior)
    cuts = np.cumsum(lengths)[:-1]
    codes = {}
    for column, vocabulary in (("phase", cs.PHASES), ("behavior", cs.BEHAVIORS)):
        mapping = {v: i for i, v in enumerate(vocabulary)}
        per_row = frame.get_column(column).replace_strict(mapping, default=-1, return_dtype=pl.Int8).to_numpy()
        per_sequence = np.empty(len(lengths), dtype=object)
        per_sequence[:] = np.split(per_row, cuts)
        codes[column] = per_sequence
    return codes


def _demographics_path(data_path: Path, given: str | Path | None) -> Path | None:
    if given is not None:
        given = Path(given)
        if not given.is_file():
            raise DataError(f"{given}: demographics file not found")
        return given
    for suffix in (data_path.suffix, *CSV_SUFFIXES, *PARQUET_SUFFIXES):
        candidate = data_path.with_name(f"{data_path.stem}_demographics{suffix}")
        if candidate.is_file():
            return candidate
    return None


def _load_demographics(path: Path | None) -> pl.DataFrame | None:
    if path is None:
        return None
    lazy = scan_table(path)
    schema = lazy.collect_schema()
    require_columns(schema, cs.DEMOGRAPHICS_COLUMNS, path)
    require_numeric(schema, [c for c in cs.DEMOGRAPHICS_COLUMNS if c != "subject"], path)
    table = collect_table(lazy.select(cs.DEMOGRAPHICS_COLUMNS).with_columns(pl.col("subject").cast(pl.String)), path)
    repeated = table.filter(pl.col("subject").is_duplicated())
    if repeated.height:
        raise DataError(f"{path}: subject {repeated.item(0, 'subject')!r} appears twice; expected one row per subject")
    bad = table.filter(pl.col("handedness").is_not_null() & ~pl.col("handedness").is_in([0, 1]))
    if bad.height:
        raise DataError(
            f"{path}: subject {bad.item(0, 'subject')!r} has handedness {bad.item(0, 'handedness')}; "
            "expected 0 (left) or 1 (right)"
        )
    return table


def _handedness(subjects: pl.Series, demographics: pl.DataFrame | None) -> np.ndarray:
    if demographics is None:
        return np.full(subjects.len(), DEFAULT_RIGHT_HANDED, dtype=np.int64)
    joined = subjects.to_frame("subject").join(
        demographics.select("subject", "handedness"), on="subject", how="left", maintain_order="left"
    )
    return joined.get_column("handedness").fill_null(DEFAULT_RIGHT_HANDED).cast(pl.Int64).to_numpy()
