"""Features on real UCI-HAR windows (`uci_har_path`, tests/conftest.py), skipped when the data is absent."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgekit.data.dataset import SequenceDataset
from edgekit.features import FeatureSpec, StreamingFeatures, features_for_dataset


@pytest.fixture(scope="module")
def uci_windows(uci_har_path) -> SequenceDataset:
    meta = json.loads(uci_har_path.with_suffix(".json").read_text())
    arrays = np.load(uci_har_path)
    pick = np.arange(0, 2947, 100)  # 30 test windows across all activities
    channels = tuple(meta["channels"])
    return SequenceDataset(
        sequences=list(arrays["X_test"][pick]), channels=channels,
        units=tuple("rad/s" if "gyro" in c else "g" for c in channels), sample_period_s=0.02,
        labels=arrays["y_test"][pick], class_names=tuple(meta["classes"]),
        subjects=arrays["subject_test"][pick], sequence_ids=[f"W{i}" for i in pick], name="uci_har_test")


def test_spec_for_uci_har_dataset_reads_total_acc_in_g_and_gyro(uci_windows):
    spec = FeatureSpec.for_dataset(uci_windows)
    assert spec.inputs.acc == ("total_acc_x", "total_acc_y", "total_acc_z")
    assert spec.inputs.acc_scale == pytest.approx(9.80665)
    assert spec.inputs.gyro == ("body_gyro_x", "body_gyro_y", "body_gyro_z") and spec.inputs.rot is None
    assert spec.inputs.extra == ("body_acc_x", "body_acc_y", "body_acc_z")


def test_uci_har_features_match_reference_and_physics(uci_windows):
    spec = FeatureSpec.for_dataset(uci_windows)
    out = features_for_dataset(uci_windows, spec)
    assert all(np.isfinite(s).all() for s in out.sequences)
    columns = [uci_windows.channels.index(c) for c in spec.input_columns()]
    for i in (0, 7, 19):
        reference = StreamingFeatures(spec).push_many(uci_windows.sequences[i][:, columns].astype(np.float64))
        np.testing.assert_allclose(out.sequences[i], reference, rtol=1e-6, atol=1e-6)
    acc_mag = spec.names().index("acc_mag")
    static = [s for s, y in zip(out.sequences, out.labels) if out.class_names[y] in ("SITTING", "STANDING", "LAYING")]
    assert static and all(abs(s[:, acc_mag].mean() - 9.80665) < 0.5 for s in static)
