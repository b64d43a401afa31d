"""Synthetic CMI-schema long tables for the feature tests and the 575 K-row timing (numpy only;
the physically faithful simulator lives in edgekit/data/simulator/).

Orientation is a per-sequence random walk in rotation-vector space, acc is gravity seen in the
device frame plus noise and movement, and the usual faults are injected: NaN and zero-norm
quaternion rows, random q -> -q sign flips, NaN acc rows, NaN thermopiles, ToF -1 pixels,
IMU-only sequences (thermopile and ToF null) and one-sample sequences.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from edgekit.data.cmi_schema import ACC_COLUMNS, GRAVITY_M_S2, ROT_COLUMNS, THM_COLUMNS, TOF_COLUMNS


def quat_multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack([aw * bw - ax * bx - ay * by - az * bz,
                     aw * bx + ax * bw + ay * bz - az * by,
                     aw * by - ax * bz + ay * bw + az * bx,
                     aw * bz + ax * by - ay * bx + az * bw], axis=-1)


def quat_exp(rotvec: np.ndarray) -> np.ndarray:
    """Unit quaternion of a rotation vector (axis * angle)."""
    angle = np.linalg.norm(rotvec, axis=-1, keepdims=True)
    half = angle / 2
    scale = np.where(angle > 1e-12, np.sin(half) / np.maximum(angle, 1e-300), 0.5)
    return np.concatenate([np.cos(half), rotvec * scale], axis=-1)


def gravity_in_device(q: np.ndarray, g: float = GRAVITY_M_S2) -> np.ndarray:
    w, x, y, z = np.moveaxis(q, -1, 0)
    return g * np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], axis=-1)


def random_quaternions(rng: np.random.Generator, n: int) -> np.ndarray:
    q = rng.normal(size=(n, 4))
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def make_cmi_frame(lengths: list[int] | np.ndarray, *, seed: int = 0, faults: bool = True,
                   imu_only: tuple[int, ...] = (), sensor_dtype=np.float64) -> pl.DataFrame:
    """One sequence per entry of `lengths` (ids SEQ_000000...), sorted by id and counter."""
    rng = np.random.default_rng(seed)
    lengths = np.asarray(lengths, dtype=np.int64)
    n, n_seq = int(lengths.sum()), len(lengths)
    seq_of_row = np.repeat(np.arange(n_seq), lengths)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    counter = np.arange(n) - np.repeat(starts, lengths)

    steps = rng.normal(scale=0.05, size=(n, 3))  # rad per sample
    walk = np.cumsum(steps, axis=0)
    walk -= np.repeat(walk[starts], lengths, axis=0)  # restart the walk at every sequence
    q = quat_multiply(np.repeat(random_quaternions(rng, n_seq), lengths, axis=0), quat_exp(walk))
    acc = gravity_in_device(q) + rng.normal(scale=0.3, size=(n, 3))
    thm = 28.0 + rng.normal(scale=1.0, size=(n, 5))
    tof = rng.integers(0, 255, size=(n, 320)).astype(np.int16)

    if faults:
        q[rng.random(n) < 0.3] *= -1.0  # the q / -q ambiguity
        q[rng.random(n) < 0.02] = np.nan
        q[rng.random(n) < 0.005] = 0.0  # zero-norm dropout
        acc[rng.random(n) < 0.01] = np.nan
        thm[rng.random((n, 5)) < np.array([0.01, 0.01, 0.01, 0.01, 0.06])] = np.nan
        tof[rng.random((n, 320)) < 0.59] = -1
    columns = {
        "sequence_id": np.array([f"SEQ_{i:06d}" for i in range(n_seq)])[seq_of_row],
        "sequence_counter": counter.astype(np.int32),
        "subject": np.array([f"SUBJ_{i % 7:03d}" for i in range(n_seq)])[seq_of_row],
    }
    columns.update({c: acc[:, i].astype(sensor_dtype) for i, c in enumerate(ACC_COLUMNS)})
    columns.update({c: q[:, i].astype(sensor_dtype) for i, c in enumerate(ROT_COLUMNS)})
    columns.update({c: thm[:, i].astype(sensor_dtype) for i, c in enumerate(THM_COLUMNS)})
    frame = pl.DataFrame(columns).with_columns(pl.Series(c, tof[:, i]) for i, c in enumerate(TOF_COLUMNS))
    if imu_only:  # thermopile and ToF null, as in half of the hidden test set
        ids = [f"SEQ_{i:06d}" for i in imu_only]
        frame = frame.with_columns(pl.when(pl.col("sequence_id").is_in(ids)).then(None).otherwise(pl.col(c)).alias(c)
                                   for c in THM_COLUMNS + TOF_COLUMNS)
    return frame


def cmi_like_lengths(total_rows: int = 575_000, n_sequences: int = 8151, seed: int = 0) -> np.ndarray:
    """Sequence lengths 29..700 with the competition's mean (~70) summing to about total_rows."""
    rng = np.random.default_rng(seed)
    lengths = np.clip(rng.lognormal(mean=np.log(60), sigma=0.45, size=n_sequences), 29, 700)
    lengths = np.clip(np.round(lengths * total_rows / lengths.sum()), 29, 700).astype(np.int64)
    lengths[-1] += total_rows - lengths.sum()
    return np.clip(lengths, 29, 700)


def demographics_for(frame: pl.DataFrame, left_subjects: tuple[str, ...] = ("SUBJ_001", "SUBJ_004")) -> pl.DataFrame:
    subjects = frame["subject"].unique().sort()
    return pl.DataFrame({"subject": subjects,
                         "handedness": [0 if s in left_subjects else 1 for s in subjects]})


def frame_rows(frame: pl.DataFrame, columns: tuple[str, ...], sequence_id: str) -> np.ndarray:
    """Raw input rows of one sequence (nulls as NaN), in counter order, for StreamingFeatures."""
    part = frame.filter(pl.col("sequence_id") == sequence_id).sort("sequence_counter")
    return part.select(pl.col(c).cast(pl.Float64).fill_null(float("nan")) for c in columns).to_numpy()


def make_uci_frame(lengths: list[int] | np.ndarray, *, seed: int = 0) -> pl.DataFrame:
    """UCI-HAR-like long table: total_acc_* in g, body_gyro_* in rad/s, a few NaN rows."""
    rng = np.random.default_rng(seed)
    base = make_cmi_frame(lengths, seed=seed, faults=False)
    n = base.height
    acc = base.select(ACC_COLUMNS).to_numpy() / 9.80665
    gyro = rng.normal(scale=0.8, size=(n, 3))
    acc[rng.random(n) < 0.02] = np.nan
    gyro[rng.random(n) < 0.02] = np.nan
    return base.select("sequence_id", "sequence_counter", "subject").with_columns(
        *[pl.Series(f"total_acc_{a}", acc[:, i]) for i, a in enumerate("xyz")],
        *[pl.Series(f"body_gyro_{a}", gyro[:, i]) for i, a in enumerate("xyz")],
    )


def reference_features(frame: pl.DataFrame, spec, handedness_of: dict[str, int] | None = None) -> dict[str, np.ndarray]:
    """StreamingFeatures run sequence by sequence: sequence id -> (T, F) float64."""
    from edgekit.features.reference import StreamingFeatures

    result = {}
    for sid in frame["sequence_id"].unique(maintain_order=True).to_list():
        hand = 1 if handedness_of is None else handedness_of[sid]
        result[sid] = StreamingFeatures(spec, handedness=hand).push_many(frame_rows(frame, spec.input_columns(), sid))
    return result


def batch_by_sequence(features: pl.DataFrame, spec) -> dict[str, np.ndarray]:
    """compute_features output split per sequence: sequence id -> (T, F) float64."""
    return {key[0]: part.select(spec.names()).to_numpy().astype(np.float64)
            for key, part in features.partition_by("sequence_id", as_dict=True, maintain_order=True).items()}


def handedness_by_sequence(frame: pl.DataFrame, demographics: pl.DataFrame) -> dict[str, int]:
    pairs = frame.select("sequence_id", "subject").unique().join(demographics, on="subject")
    return dict(zip(pairs["sequence_id"].to_list(), pairs["handedness"].to_list()))
