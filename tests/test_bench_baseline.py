"""The pandas + scipy speed baseline of `bench/` computes the same features as the Polars
pipeline: a third, independent implementation of `FeatureSpec.cmi_default()` (scipy rotations,
pandas rolling windows, an FFT for band power) that has to agree on every feature.

The data: 30 simulated sequences from 6 subjects, half of them left-handed (mirroring), with
more quaternion dropouts, sign flips and dead thm_5 than the defaults, IMU-only sequences, plus
injected faults: a 1-row and a 2-row sequence, an all-null quaternion sequence, zero-norm
quaternion runs, missing accelerometer rows, and shuffled row order.

Tolerance: the Polars output is Float32 (a relative rounding of 6e-8), the baseline float64;
rtol = atol = 1e-6 leaves a 16x margin for that and still fails on any formula difference.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from edgekit.data.simulator import SimConfig, simulate
from edgekit.features import FeatureSpec, compute_features

pytest.importorskip("pandas")
pytest.importorskip("scipy")

BASELINE = Path(__file__).resolve().parents[1] / "bench" / "baseline_pandas.py"
TOL = {"rtol": 1e-6, "atol": 1e-6}


def load_baseline():
    spec = importlib.util.spec_from_file_location("baseline_pandas", BASELINE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def faulty_sim() -> tuple[pl.DataFrame, pl.DataFrame]:
    config = SimConfig(n_subjects=6, left_handed_fraction=0.5, rot_dropout_fraction=0.03,
                       quat_hemisphere_fraction=0.5, thm5_missing_fraction=0.3)
    data = simulate(30, seed=0, config=config)
    assert set(data.demographics["handedness"]) == {0, 1}, "want left- and right-handed subjects"
    train = data.train
    ids = train["sequence_id"].unique(maintain_order=True).to_list()
    seq, t = pl.col("sequence_id"), pl.col("sequence_counter")
    rot, acc = ["rot_w", "rot_x", "rot_y", "rot_z"], ["acc_x", "acc_z"]
    train = train.filter(~((seq == ids[0]) & (t >= 1)) & ~((seq == ids[1]) & (t >= 2)))
    train = train.with_columns(pl.when(seq == ids[2]).then(None).otherwise(pl.col(c)).alias(c) for c in rot)
    zero = (seq == ids[3]) & t.is_between(0, 4) | (seq == ids[4]) & t.is_between(10, 12)
    train = train.with_columns(pl.when(zero).then(0.0).otherwise(pl.col(c)).cast(pl.Float32).alias(c) for c in rot)
    no_acc = (seq == ids[5]) & (t.is_between(0, 2) | t.is_between(20, 23)) | (seq == ids[6]) & (t == 7)
    train = train.with_columns(pl.when(no_acc).then(None).otherwise(pl.col(c)).alias(c) for c in acc)
    return train.sample(fraction=1.0, shuffle=True, seed=3), data.demographics


def test_baseline_names_are_cmi_default():
    assert load_baseline().feature_names() == list(FeatureSpec.cmi_default().names())


def test_baseline_equals_polars_pipeline(faulty_sim):
    train, demographics = faulty_sim
    spec = FeatureSpec.cmi_default()
    polars_out = compute_features(train, spec, handedness=demographics)
    pandas_out = load_baseline().compute_features_pandas(train.to_pandas(), demographics.to_pandas())
    assert pandas_out.shape == polars_out.shape
    assert pandas_out["sequence_id"].tolist() == polars_out["sequence_id"].to_list()
    assert pandas_out["sequence_counter"].tolist() == polars_out["sequence_counter"].to_list()
    for name in spec.names():
        expected = pandas_out[name].to_numpy(dtype=np.float64)
        assert np.isfinite(expected).all(), f"{name}: non-finite baseline values"
        np.testing.assert_allclose(polars_out[name].to_numpy(), expected, **TOL, err_msg=name)
