"""Shared fixtures for the C bridge tests: a fresh extension, simulator and UCI-HAR streams.

The extension is rebuilt in place when the C sources changed since it was compiled (a source
checkout after `pip install -e .`), so the tests always exercise the C they sit next to."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.bridge import build

build.ensure_built()

UCI_CHANNELS = ("body_acc_x", "body_acc_y", "body_acc_z", "body_gyro_x", "body_gyro_y", "body_gyro_z",
                "total_acc_x", "total_acc_y", "total_acc_z")


@pytest.fixture(scope="session")
def simulated():
    """CMI-schema sequences from the wrist simulator with every fault it makes (NaN quaternion
    bursts, ToF -1, IMU-only sequences, q/-q flips, a dead thm_5, left-handed subjects)."""
    from edgekit.data.simulator import SimConfig, simulate

    config = SimConfig(n_subjects=6, left_handed_fraction=0.4, rot_dropout_fraction=0.03)
    return simulate(24, seed=11, config=config)


@pytest.fixture(scope="session")
def uci_streams(uci_har_path):
    """Per subject, a stream of real UCI-HAR recordings in FeatureSpec.uci_har_default() input
    order: the first half of every window of the subject in recording order (windows overlap by
    half), then the last window's second half."""
    from edgekit.features import FeatureSpec

    data = np.load(uci_har_path)
    x, subjects = data["X_test"], data["subject_test"]
    streams = {}
    for subject in np.unique(subjects)[:2]:
        windows = x[subjects == subject]
        stream = np.concatenate([windows[:, :64, :].reshape(-1, 9), windows[-1, 64:, :]])
        columns = [UCI_CHANNELS.index(c) for c in FeatureSpec.uci_har_default().input_columns()]
        streams[int(subject)] = stream[:, columns].astype(np.float32)
    return streams
