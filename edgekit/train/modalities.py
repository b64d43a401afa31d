"""Sensor modalities in training: the teachers' branch layout from the feature spec, the values
modality dropout writes, and the IMU-only / full-sensor views of the test set.

CMI data has an IMU on every sequence; the thermopiles and ToF sensors are missing from about half
of the hidden test (IMU-only sequences: those columns null). `FeatureSpec.modalities()` says which
sensor each feature reads, and from it:
- `resolve_layouts`: a teacher member with `layout = "spec"` gets `InputLayout.from_modalities`
  of the run's spec. The model gathers its input channels into branch order itself, so its input
  keeps the spec's feature order: exports, the runtime and the bridge do not change. The resolved
  layout lands in the member's options, so the recorded recipe and `model.json` hold it.
- `sensor_fill`: per feature channel, the scaled value every real step of an IMU-only sequence
  has (NaN on the channels it keeps): what modality dropout (`augment.py`) writes into a
  dropped sequence, so a dropped sequence looks exactly like a recorded IMU-only one.
- `sensor_test_views`: the test set as IMU-only (`IMU_ONLY_SPLIT`: every sequence with its
  thermopile and ToF columns nulled, features recomputed) and the test sequences that carry
  thermopile or ToF data, as recorded (`FULL_SENSOR_SPLIT`); reported like any test split.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np

from edgekit.config_io import to_plain
from edgekit.data.cmi_schema import GRAVITY_M_S2, THM_COLUMNS, TOF_COLUMNS
from edgekit.data.dataset import SequenceDataset
from edgekit.errors import EdgekitError
from edgekit.features import FeatureSpec, StreamingFeatures
from edgekit.models.layers.modality import IMU, InputLayout
from edgekit.train.config import ModelConfig
from edgekit.train.recipe import LAYOUT_FROM_SPEC
from edgekit.train.scoring import FULL_SENSOR_SPLIT, IMU_ONLY_SPLIT
from edgekit.train.tensors import Scaler


def layout_for_spec(spec: FeatureSpec) -> InputLayout:
    """The teachers' branch layout for inputs in `spec.names()` order."""
    pixels = set(spec.inputs.tof_columns()) if spec.families.raw is not None and spec.families.raw.tof_pixels else set()
    return InputLayout.from_modalities(spec.modalities(), [name in pixels for name in spec.names()])


def resolve_layouts(members: Sequence[ModelConfig], spec: FeatureSpec | None) -> None:
    """Replace `layout = "spec"` in the members' options by the spec's layout (in place: the
    members are the recipe's, which the run records)."""
    for i, member in enumerate(members):
        if member.options.get("layout") != LAYOUT_FROM_SPEC:
            continue
        if spec is None:
            raise EdgekitError(f"teachers.members.{i}.options.layout = {LAYOUT_FROM_SPEC!r} derives {member.name}'s "
                               "sensor branches from the feature spec, and features.preset = 'none' has none; "
                               "expected a feature spec (features.preset = 'auto' or 'cmi_default') or a layout "
                               "table ({imu_chs = ..., thm_chs = ..., tof_sensors = ...})")
        member.options["layout"] = to_plain(layout_for_spec(spec))


def sensor_columns(channels: Sequence[str], spec: FeatureSpec | None) -> tuple[str, ...]:
    """The raw thermopile and ToF columns among `channels` (the spec's, or CMI's names without one)."""
    if spec is not None:
        return spec.inputs.thm + spec.inputs.tof_columns()
    sensors = set(THM_COLUMNS) | set(TOF_COLUMNS)
    return tuple(c for c in channels if c in sensors)


def sensor_fill(spec: FeatureSpec | None, channels: Sequence[str], scaler: Scaler, *,
                required: bool = False) -> np.ndarray | None:
    """`(C,)` float32: the scaled value of each thermopile/ToF feature channel in an IMU-only
    sequence, NaN on the channels that stay; None when the features have no such channel (an
    error when `required`: modality dropout is on)."""
    if spec is None:
        sensor = np.isin(np.asarray(channels), sensor_columns(channels, None))
        raw = np.full(len(channels), np.nan)  # raw channels: missing is NaN, which the scaler reads as 0
    else:
        sensor = np.array([m != IMU for m in spec.modalities()])
        raw = _imu_only_features(spec)
    if not sensor.any():
        if required:
            raise EdgekitError("train.augment.modality_dropout_p > 0 drops the thermopile and ToF channels, and "
                               f"these features have none ({list(channels)[:6]}...); expected CMI-schema data "
                               "with thm_*/tof_* columns, or train.augment.modality_dropout_p = 0")
        return None
    return np.where(sensor, scaler.apply(raw[None, :].astype(np.float32))[0], np.nan).astype(np.float32)


def _imu_only_features(spec: FeatureSpec) -> np.ndarray:
    """The spec's features on a still IMU with every thermopile and ToF value missing. Their
    thermopile/ToF outputs are the same on every step of any IMU-only sequence: a missing
    thermopile holds 0 and flags itself missing, a ToF sensor without a valid pixel gives 0s."""
    inputs = spec.inputs
    still = ([0.0, 0.0, GRAVITY_M_S2 / inputs.acc_scale] + ([1.0, 0.0, 0.0, 0.0] if inputs.rot else [])
             + [0.0] * len(inputs.gyro or ()) + [np.nan] * (len(inputs.thm) + len(inputs.tof_columns()))
             + [0.0] * len(inputs.extra))
    return StreamingFeatures(spec).push_many([still, still])[-1]


def sensor_test_views(test: SequenceDataset, spec: FeatureSpec | None) -> dict[str, SequenceDataset]:
    """`{IMU_ONLY_SPLIT: ..., FULL_SENSOR_SPLIT: ...}` of the raw test set (see module doc), or {}
    when no test sequence carries thermopile or ToF data."""
    columns = [c for c in sensor_columns(test.channels, spec) if c in test.channels]
    if not columns:
        return {}
    index = test.channel_index(columns)
    carries = np.array([bool(np.isfinite(seq[:, index]).any()) for seq in test.sequences])
    if not carries.any():
        return {}
    blanked = []
    for seq in test.sequences:
        seq = seq.copy()
        seq[:, index] = np.nan
        blanked.append(seq)
    return {IMU_ONLY_SPLIT: replace(test, sequences=blanked, name=f"{test.name}:imu_only"),
            FULL_SENSOR_SPLIT: test.subset(np.flatnonzero(carries))}
