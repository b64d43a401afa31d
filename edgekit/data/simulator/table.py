"""The simulator's output tables (CMI schema) and how they are written.

Dtypes of the train table (`TRAIN_DTYPES`):
- row_id, sequence_type, sequence_id, subject, orientation, behavior, phase, gesture: Utf8, in the
  competition's formats (`SEQ_000007`, `SEQ_000007_000000`, `SUBJ_059520`);
- sequence_counter: Int32, 0..T-1;
- acc_*, rot_*, thm_*: Float32; tof_*: Int16 raw millimetres 0..254, -1 = no return.
Missing values are always null, never NaN: a dropped quaternion row has null rot_w..rot_z, an
IMU-only sequence has null thm_* and tof_* on every row, a dead thm_5 is null. That is what the
real CSV's empty cells read as in Polars, it survives CSV and Parquet alike, and `to_numpy()`
turns it into NaN for numpy code.

A CSV has no dtypes: read it back with `schema_overrides=TRAIN_DTYPES` to get them exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from edgekit.data import cmi_schema as cs
from edgekit.data.long_table import PARQUET_SUFFIXES, csv_separator, table_suffix, write_table
from edgekit.data.simulator.timeline import PHASE_OF_BEHAVIOR, SIM_BEHAVIORS, Layout

TRAIN_DTYPES: dict[str, pl.DataType] = {
    **{c: pl.Utf8 for c in cs.META_COLUMNS},
    "sequence_counter": pl.Int32,
    **{c: pl.Float32 for c in cs.ACC_COLUMNS + cs.ROT_COLUMNS + cs.THM_COLUMNS},
    **{c: pl.Int16 for c in cs.TOF_COLUMNS},
}
assert tuple(TRAIN_DTYPES) == cs.TRAIN_COLUMNS


@dataclass(frozen=True)
class SimulatedData:
    train: pl.DataFrame  # cmi_schema.TRAIN_COLUMNS, dtypes TRAIN_DTYPES
    demographics: pl.DataFrame  # cmi_schema.DEMOGRAPHICS_COLUMNS
    sample_period_s: float


def train_frame(
    layout: Layout,
    sequence_ids: np.ndarray,
    subject_ids: np.ndarray,
    gesture: np.ndarray,
    orientation: np.ndarray,
    behavior_of_row: np.ndarray,
    acc: np.ndarray,
    rot: np.ndarray,
    thm: np.ndarray,
    tof_by_column: np.ndarray,
    has_sensors: np.ndarray,
) -> pl.DataFrame:
    """Assemble the train table from per-sequence labels and packed per-row arrays.

    `rot` and `thm` carry NaN where the value is missing; `tof_by_column` is (320, R) int16 and
    `has_sensors` (R,) bool marks rows whose thermopile and ToF exist at all.
    """
    seq = pl.Series(layout.seq_of_row.astype(np.int64))
    behavior = pl.Series(behavior_of_row.astype(np.int64))

    def per_sequence(name: str, values) -> pl.Series:
        return pl.Series(name, list(values), dtype=pl.Utf8).gather(seq)

    targets = set(cs.TARGET_GESTURES)
    types = [cs.SEQUENCE_TYPES[0] if cs.GESTURES[g] in targets else cs.SEQUENCE_TYPES[1] for g in gesture]
    counter = pl.Series("sequence_counter", layout.t_of_row.astype(np.int32))
    sequence_id = per_sequence("sequence_id", sequence_ids)
    columns: dict[str, pl.Series] = {
        "row_id": (sequence_id + "_" + counter.cast(pl.Utf8).str.zfill(6)).alias("row_id"),
        "sequence_type": per_sequence("sequence_type", types),
        "sequence_id": sequence_id,
        "sequence_counter": counter,
        "subject": per_sequence("subject", subject_ids),
        "orientation": per_sequence("orientation", [cs.ORIENTATIONS[o] for o in orientation]),
        "behavior": pl.Series("behavior", SIM_BEHAVIORS, dtype=pl.Utf8).gather(behavior),
        "phase": pl.Series("phase", PHASE_OF_BEHAVIOR, dtype=pl.Utf8).gather(behavior),
        "gesture": per_sequence("gesture", [cs.GESTURES[g] for g in gesture]),
    }
    for j, name in enumerate(cs.ACC_COLUMNS):
        columns[name] = pl.Series(name, acc[:, j].astype(np.float32))
    for j, name in enumerate(cs.ROT_COLUMNS):
        columns[name] = pl.Series(name, rot[:, j].astype(np.float32), nan_to_null=True)
    for j, name in enumerate(cs.THM_COLUMNS):
        columns[name] = pl.Series(name, np.where(has_sensors, thm[:, j], np.nan).astype(np.float32), nan_to_null=True)
    for j, name in enumerate(cs.TOF_COLUMNS):
        columns[name] = pl.Series(name, tof_by_column[j])
    frame = pl.DataFrame(columns)
    # Int16 has no NaN: IMU-only rows become null in one pass over all ToF columns
    return frame.with_columns(pl.when(pl.Series(has_sensors)).then(pl.col(cs.TOF_COLUMNS)).otherwise(None))


def write_simulation(data: SimulatedData, out: str | Path) -> dict[str, Path]:
    """Write the train table at `out` (Parquet or CSV, from the suffix: `TABLE_SUFFIXES`) and the
    demographics as `<stem>_demographics.csv` next to it; each file appears atomically.

    Returns {"train": path, "demographics": path}.
    """
    out = Path(out)
    demographics_path = out.with_name(f"{out.stem}_demographics.csv")
    write_table(data.train, out)
    write_table(data.demographics, demographics_path)
    return {"train": out, "demographics": demographics_path}


def read_simulation(path: str | Path) -> pl.DataFrame:
    """Read a train table written by `write_simulation` back with its exact dtypes."""
    path = Path(path)
    suffix = table_suffix(path)
    if suffix in PARQUET_SUFFIXES:
        return pl.read_parquet(path)
    return pl.read_csv(path, separator=csv_separator(suffix), schema_overrides=TRAIN_DTYPES)
