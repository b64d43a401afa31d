"""Simulated subjects: the demographics table and the per-subject motion traits it implies.

Demographics follow the competition's population: children (10-17) and adults, both sexes,
~12 % left-handed, heights and arm lengths that scale together. Each subject also gets traits
the table does not show: movement speed, amplitude, tremor, skin temperature, a personal way of
holding the forearm (a small fixed rotation of every target pose), and a compass heading of the
recording session (the IMU's world frame has an arbitrary yaw).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from edgekit.data import cmi_schema as cs

DEMOGRAPHICS_DTYPES: dict[str, pl.DataType] = {
    "subject": pl.Utf8,
    "adult_child": pl.Int64,  # 1 adult, 0 child
    "age": pl.Int64,
    "sex": pl.Int64,  # 1 male, 0 female, as in the competition table
    "handedness": pl.Int64,  # 1 right, 0 left
    "height_cm": pl.Float64,
    "shoulder_to_wrist_cm": pl.Int64,
    "elbow_to_wrist_cm": pl.Int64,
}
assert tuple(DEMOGRAPHICS_DTYPES) == cs.DEMOGRAPHICS_COLUMNS


@dataclass(frozen=True)
class Subjects:
    ids: np.ndarray  # (S,) "SUBJ_059520"
    right_handed: np.ndarray  # (S,) bool
    height_m: np.ndarray
    forearm_m: np.ndarray  # elbow to wrist
    hand_m: np.ndarray  # wrist to the fingertips' working point
    speed: np.ndarray  # >1 moves faster (higher gesture frequencies, shorter sequences)
    amplitude: np.ndarray  # scales gesture excursions
    tremor: np.ndarray  # rad/s amplitude of physiological tremor
    skin_c: np.ndarray  # facial skin temperature, °C
    style: np.ndarray  # (S, 3) rotation vector applied to every target pose (radians)
    heading: np.ndarray  # (S,) yaw of the session's world frame (radians)
    table: pl.DataFrame  # the demographics table, columns cmi_schema.DEMOGRAPHICS_COLUMNS


def sample_subjects(rng: np.random.Generator, n: int, left_handed_fraction: float, variability: float) -> Subjects:
    # Handedness is the first draw so that changing the fraction changes nothing else: the same
    # seed then gives the same motions for right- and left-handed runs (the mirror test).
    right_handed = rng.random(n) >= left_handed_fraction
    ids = np.array([f"SUBJ_{v:06d}" for v in rng.choice(1_000_000, size=n, replace=False)])
    child = rng.random(n) < 0.4
    age = np.where(child, rng.integers(10, 18, n), rng.integers(18, 53, n))
    male = rng.random(n) < 0.55
    adult_height = np.where(male, 176.0, 163.0) + rng.normal(0.0, 7.0, n)
    # children grow ~6 cm a year towards adult height
    height_cm = np.round(np.clip(adult_height - np.clip(18 - age, 0, None) * 5.5, 125.0, 200.0), 1)
    shoulder_to_wrist = np.round(0.315 * height_cm + rng.normal(0.0, 2.0, n)).astype(np.int64)
    elbow_to_wrist = np.round(0.155 * height_cm + rng.normal(0.0, 1.5, n)).astype(np.int64)

    v = variability
    table = pl.DataFrame(
        {
            "subject": ids,
            "adult_child": (~child).astype(np.int64),
            "age": age.astype(np.int64),
            "sex": male.astype(np.int64),
            "handedness": right_handed.astype(np.int64),
            "height_cm": height_cm,
            "shoulder_to_wrist_cm": shoulder_to_wrist,
            "elbow_to_wrist_cm": elbow_to_wrist,
        },
        schema=DEMOGRAPHICS_DTYPES,
    )
    return Subjects(
        ids=ids,
        right_handed=right_handed,
        height_m=height_cm / 100.0,
        forearm_m=elbow_to_wrist / 100.0,
        hand_m=0.085 * height_cm / 100.0,
        speed=np.exp(v * rng.normal(0.0, 0.12, n)),
        amplitude=np.exp(v * rng.normal(0.0, 0.16, n)),
        tremor=0.005 + v * rng.gamma(2.0, 0.004, n),
        skin_c=rng.normal(33.0, 0.8, n),
        style=v * rng.normal(0.0, np.deg2rad(6.5), (n, 3)),
        heading=rng.uniform(0.0, 2.0 * np.pi, n),
        table=table,
    )
