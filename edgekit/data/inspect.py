"""`inspect_dataset`: a JSON-able summary of a `SequenceDataset` — what `edgekit data inspect` shows.

Sample-period provenance. `SequenceDataset` has one `sample_period_s` and no field saying where
it came from, so the loaders record that in two per-sequence extras (per-sequence so that
`subset()` keeps them):
- `extras[PERIOD_SOURCE_KEY]`: a `PeriodSource` value — "timestamps" (measured from a time
  column), "given" (passed by the caller), "documented" (fixed by the dataset's documentation, as
  UCI-HAR's 50 Hz) or "assumed" (the data has no timing, as CMI and UEA files).
- `extras[MEASURED_PERIOD_KEY]`: the median time step of each sequence in seconds (NaN when a
  sequence has one sample), only where the data has timestamps.
A dataset without these keys is reported with source "unknown".

Implausible values. `missing` counts NaN only; `implausible` (when the channels have feature
roles, see `FeatureSpec.for_channels`) gives, per channel group, the fraction of finite values
outside the physical range of their role (`edgekit.features.spec`: |acc| > 16 g, |gyro| >
35 rad/s, a quaternion component beyond 1.5, ...), which the features treat as missing exactly
like NaN, and per sample the fraction of zero-norm quaternions (missing too) and of quaternions
whose norm is off 1 by more than `QUAT_UNIT_TOLERANCE` (normalised by the features, but a
sign that the column is not an orientation). A corrupt or mis-scaled file shows itself here.

Continuous recordings (a long table with no sequence column, cut by `segments.py`): `segments`
counts the subject streams, the sequences cut from them, and the sequences started by a label
change, a session change or a time gap, with the gap threshold and the largest gap.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

import numpy as np

from edgekit.data import cmi_schema as cs
from edgekit.data.dataset import UNLABELLED, SequenceDataset
from edgekit.data.segments import SEGMENT_KEYS, segment_summary

PERIOD_SOURCE_KEY = "sample_period_source"
MEASURED_PERIOD_KEY = "measured_period_s"
_MAX_CATEGORIES = 20  # string extras with more distinct values than this are ids, not categories
QUAT_UNIT_TOLERANCE = 0.01  # a fusion filter's quaternion keeps its norm within ~1e-3 of 1


class PeriodSource(str, Enum):
    TIMESTAMPS = "timestamps"
    GIVEN = "given"
    DOCUMENTED = "documented"
    ASSUMED = "assumed"


def inspect_dataset(ds: SequenceDataset) -> dict[str, Any]:
    """Summarise `ds`: sizes, lengths, class balance, missing data per channel group, timing."""
    lengths = ds.lengths
    report: dict[str, Any] = {
        "name": ds.name,
        "sequences": len(ds),
        "samples": int(lengths.sum()),
        "subjects": int(len(np.unique(ds.subjects))),
        "channels": len(ds.channels),
        "channel_names": list(ds.channels),
        "length": _length_stats(lengths),
        "class_balance": _class_balance(ds),
        "missing": _missing_by_group(ds),
        "implausible": _implausible(ds),
        "sample_period": _sample_period(ds),
        "extras": _extras_summary(ds),
    }
    if (segments := segment_summary(ds)) is not None:
        report["segments"] = segments
    if _is_cmi(ds):
        report["cmi"] = _cmi_summary(ds)
    return report


def channel_group(name: str) -> str:
    """`acc_x` -> `acc`, `tof_3_v17` -> `tof_3`, `body_gyro_y` -> `body_gyro`, `dim_0` -> `dim`."""
    return name.rsplit("_", 1)[0] if "_" in name else name


def _length_stats(lengths: np.ndarray) -> dict[str, float | int]:
    if lengths.size == 0:
        return {"min": 0, "median": 0.0, "mean": 0.0, "max": 0}
    return {
        "min": int(lengths.min()),
        "median": float(np.median(lengths)),
        "mean": float(lengths.mean()),
        "max": int(lengths.max()),
    }


def _class_balance(ds: SequenceDataset) -> dict[str, int]:
    counts = np.bincount(ds.labels[ds.labels != UNLABELLED], minlength=len(ds.class_names))
    balance = {name: int(count) for name, count in zip(ds.class_names, counts)}
    unlabelled = int((ds.labels == UNLABELLED).sum())
    if unlabelled:
        balance["(unlabelled)"] = unlabelled
    return balance


def _missing_by_group(ds: SequenceDataset) -> dict[str, float]:
    """NaN fraction per channel group, counting every sample of every channel in the group."""
    nan_per_channel = np.zeros(len(ds.channels), dtype=np.int64)
    for seq in ds.sequences:
        nan_per_channel += np.isnan(seq).sum(axis=0)
    total = int(ds.lengths.sum())
    groups: dict[str, list[int]] = {}
    for j, name in enumerate(ds.channels):
        groups.setdefault(channel_group(name), []).append(j)
    return {
        group: float(nan_per_channel[idx].sum() / (total * len(idx))) if total else 0.0 for group, idx in groups.items()
    }


def _implausible(ds: SequenceDataset) -> dict[str, float]:
    """Values the features treat as missing although they are not NaN (see the module docstring)."""
    from edgekit.errors import SpecError
    from edgekit.features.spec import QUAT_MIN_NORM, FeatureSpec, out_of_range

    try:
        inputs = FeatureSpec.for_channels(ds.channels, ds.sample_period_s, units=ds.units).inputs
    except SpecError:  # no accelerometer: the channels have no feature roles
        return {}
    columns = inputs.columns()
    positions = ds.channel_index(columns)
    outside = np.zeros(len(columns), dtype=np.int64)
    zero_norm = non_unit = 0
    for seq in ds.sequences:
        x = seq[:, positions]
        mask = out_of_range(inputs, x)
        outside += mask.sum(axis=0)
        if inputs.rot is not None:
            q = x[:, 3:7].astype(np.float64)
            usable = np.isfinite(q).all(axis=1) & ~mask[:, 3:7].any(axis=1)
            norm = np.sqrt((np.where(usable[:, None], q, 0.0) ** 2).sum(axis=1))
            zero_norm += int((usable & (norm < QUAT_MIN_NORM)).sum())
            non_unit += int((usable & (norm >= QUAT_MIN_NORM) & (np.abs(norm - 1.0) > QUAT_UNIT_TOLERANCE)).sum())
    total = int(ds.lengths.sum())
    groups: dict[str, list[int]] = {}
    for j, name in enumerate(columns):
        groups.setdefault(channel_group(name), []).append(j)
    report = {group: float(outside[idx].sum() / (total * len(idx))) if total else 0.0 for group, idx in groups.items()}
    if inputs.rot is not None:
        report["rot_zero_norm"] = zero_norm / total if total else 0.0
        report["rot_non_unit"] = non_unit / total if total else 0.0
    return report


def _sample_period(ds: SequenceDataset) -> dict[str, Any]:
    sources = np.unique(ds.extras[PERIOD_SOURCE_KEY]) if PERIOD_SOURCE_KEY in ds.extras else np.array([])
    summary: dict[str, Any] = {
        "period_s": ds.sample_period_s,
        "rate_hz": 1.0 / ds.sample_period_s,
        "source": str(sources[0]) if len(sources) == 1 else ("mixed" if len(sources) else "unknown"),
    }
    measured = ds.extras.get(MEASURED_PERIOD_KEY)
    if measured is not None and np.isfinite(measured).any():
        finite = measured[np.isfinite(measured)]
        # The spread across sequences shows clock jitter or sequences recorded at another rate.
        summary["measured_period_s"] = {
            "median": float(np.median(finite)),
            "min": float(finite.min()),
            "max": float(finite.max()),
            "sequences": int(finite.size),
        }
    return summary


def _extras_summary(ds: SequenceDataset) -> dict[str, Any]:
    """Value counts of categorical per-sequence extras (orientation, handedness, ...)."""
    summary: dict[str, Any] = {}
    for key, values in ds.extras.items():
        reported = (PERIOD_SOURCE_KEY, MEASURED_PERIOD_KEY, *SEGMENT_KEYS)
        if key in reported or values.dtype == object or values.dtype.kind == "f":
            continue  # per-sample arrays, timing and segments are reported elsewhere
        uniques, counts = np.unique(values, return_counts=True)
        if len(uniques) <= _MAX_CATEGORIES:
            summary[key] = {str(u): int(c) for u, c in zip(uniques, counts)}
    return summary


def _is_cmi(ds: SequenceDataset) -> bool:
    return set(cs.THM_COLUMNS + cs.TOF_COLUMNS) <= set(ds.channels)


def _cmi_summary(ds: SequenceDataset) -> dict[str, Any]:
    """ToF "no return" (-1) rate among present ToF values, and how many sequences are IMU-only
    (every thermopile and ToF value missing, as about half the hidden test set)."""
    tof = _as_slice(ds.channel_index(cs.TOF_COLUMNS))
    extra_sensors = _as_slice(ds.channel_index(cs.THM_COLUMNS + cs.TOF_COLUMNS))
    no_return = present = imu_only = 0
    for seq in ds.sequences:
        tof_values = seq[:, tof]
        no_return += int((tof_values == cs.TOF_NO_RETURN).sum())
        present += int((~np.isnan(tof_values)).sum())
        imu_only += bool(np.isnan(seq[:, extra_sensors]).all())
    return {
        "tof_no_return_fraction": no_return / present if present else 0.0,
        "imu_only_sequences": imu_only,
        "imu_only_fraction": imu_only / len(ds) if len(ds) else 0.0,
    }


def _as_slice(positions: list[int]) -> slice | list[int]:
    """A slice when the positions are consecutive: a view instead of a copy per sequence."""
    if positions == list(range(positions[0], positions[0] + len(positions))):
        return slice(positions[0], positions[0] + len(positions))
    return positions
