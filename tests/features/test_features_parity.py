"""The Polars batch pipeline equals the pure-Python streaming reference, and both are causal.

Tolerance: the reference is float64, the batch computes in float64 and returns Float32, whose
rounding is a relative 6e-8; rtol = atol = 1e-6 leaves a 16x margin for that while still
failing on any real formula difference (those show up at 1e-3 and above). atol covers values
near 0, where float64 operation-order differences (~1e-15) are all that remains.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from feature_synth import (
    batch_by_sequence,
    demographics_for,
    handedness_by_sequence,
    make_cmi_frame,
    make_uci_frame,
    reference_features,
)

from edgekit.data.cmi_schema import ROT_COLUMNS, THM_COLUMNS
from edgekit.features import (
    BandPower,
    Correlation,
    FeatureSpec,
    InputSpec,
    RawPassthrough,
    RollingStat,
    RollingStats,
    StreamingFeatures,
    WindowedChannels,
    compute_features,
)

TOL = {"rtol": 1e-6, "atol": 1e-6}
LENGTHS = [45, 1, 2, 30, 60, 25, 33]  # includes one- and two-sample sequences


def kitchen_sink_spec() -> FeatureSpec:
    """cmi_default plus every option the preset leaves out: raw ToF pixels, rolling min, an
    extra pass-through channel, more windows, pairs and band-power groups."""
    base = FeatureSpec.cmi_default()
    inputs = InputSpec(acc=base.inputs.acc, rot=base.inputs.rot, thm=base.inputs.thm, tof_sensors=5,
                       extra=("sequence_counter_f",))
    fam = base.families
    spec = FeatureSpec(inputs=inputs, mirror=True, families=fam)
    return spec.with_families(
        raw=RawPassthrough(tof_pixels=True),
        rolling=fam.rolling + (RollingStats(("angvel_x", "thm_5", "sequence_counter_f", "tof_2_mean"), (1, 3, 7),
                                            (RollingStat.MIN, RollingStat.MAX, RollingStat.STD, RollingStat.MEAN)),),
        energy=WindowedChannels(("linacc_x", "yaw_rate"), (4, 20)),
        zero_crossings=WindowedChannels(("angvel_y", "linacc_z", "roll"), (2, 9)),
        correlation=Correlation(fam.correlation.pairs + (("linacc_x", "angvel_z"), ("thm_1", "tof_1_mean")), (3, 20)),
        band_power=fam.band_power + (BandPower(("acc_x", "angvel_z"), 10, (5.0, 10.0, 25.0)),),
    )


@pytest.fixture(scope="module")
def faulty_frame() -> pl.DataFrame:
    frame = make_cmi_frame(LENGTHS, seed=11, imu_only=(3, 5))
    # an all-NaN quaternion sequence and a run of zero-norm quaternions
    frame = frame.with_columns(
        pl.when(pl.col("sequence_id") == "SEQ_000005").then(None).otherwise(pl.col(c)).alias(c) for c in ROT_COLUMNS)
    zero = (pl.col("sequence_id") == "SEQ_000000") & pl.col("sequence_counter").is_between(0, 4)
    frame = frame.with_columns(pl.when(zero).then(0.0).otherwise(pl.col(c)).alias(c) for c in ROT_COLUMNS)
    frame = frame.with_columns(pl.when(pl.col("sequence_counter") >= 40).then(None).otherwise(pl.col("thm_2"))
                               .alias("thm_2"))
    return frame.with_columns(pl.col("sequence_counter").cast(pl.Float64).alias("sequence_counter_f"))


def assert_parity(frame: pl.DataFrame, spec: FeatureSpec, demographics: pl.DataFrame | None) -> dict:
    batch = batch_by_sequence(compute_features(frame, spec, handedness=demographics), spec)
    hands = handedness_by_sequence(frame, demographics) if demographics is not None else None
    reference = reference_features(frame, spec, hands)
    assert batch.keys() == reference.keys()
    for sid, ref in reference.items():
        assert np.isfinite(ref).all(), f"{sid}: non-finite reference features"
        assert np.isfinite(batch[sid]).all(), f"{sid}: non-finite batch features"
        bad = ~np.isclose(batch[sid], ref, **TOL)
        if bad.any():
            t, j = np.argwhere(bad)[0]
            pytest.fail(f"{sid} sample {t} feature {spec.names()[j]}: batch {batch[sid][t, j]!r} != "
                        f"reference {ref[t, j]!r} ({bad.sum()} mismatches)")
    return reference


@pytest.mark.parametrize("make_spec", [FeatureSpec.cmi_default, kitchen_sink_spec], ids=["cmi_default", "kitchen_sink"])
def test_batch_equals_reference_with_every_fault(faulty_frame, make_spec):
    spec = make_spec()
    demographics = demographics_for(faulty_frame, left_subjects=("SUBJ_001", "SUBJ_004", "SUBJ_005"))
    assert (demographics["handedness"] == 0).sum() == 3
    reference = assert_parity(faulty_frame, spec, demographics)
    names = spec.names()
    nan_rot = reference["SEQ_000005"]  # all-NaN quaternions: identity held, no motion
    assert np.allclose(nan_rot[:, [names.index(f"rot_{c}") for c in "wxyz"]], [1.0, 0.0, 0.0, 0.0])
    assert np.allclose(nan_rot[:, names.index("angvel_x")], 0.0)
    imu_only = reference["SEQ_000003"]
    assert np.allclose(imu_only[:, names.index("thm_1_missing")], 1.0)
    assert np.allclose(imu_only[:, names.index("tof_1_valid")], 0.0)


def test_batch_equals_reference_without_mirroring_or_tof():
    spec = FeatureSpec.for_channels(("acc_x", "acc_y", "acc_z", *ROT_COLUMNS, *THM_COLUMNS[:2]), 0.01)
    frame = make_cmi_frame([30, 1, 50], seed=5).with_columns(pl.col("acc_x").alias("acc_x"))
    assert_parity(frame, spec, None)


def test_batch_equals_reference_on_uci_har_spec():
    spec = FeatureSpec.uci_har_default()
    assert_parity(make_uci_frame([40, 1, 70], seed=2), spec, None)


def test_batch_equals_reference_with_float_tof_pixels(faulty_frame):
    """Float ToF columns (nulls, NaN, inf, non-integer codes) take the float path of batch_tof."""
    spec = FeatureSpec.cmi_default()
    rng = np.random.default_rng(4)
    noise = pl.Series(rng.normal(scale=0.3, size=faulty_frame.height))
    frame = faulty_frame.with_columns(pl.col("^tof_.*$").cast(pl.Float64)).with_columns(
        (pl.col("tof_2_v5") + noise).alias("tof_2_v5"),
        pl.when(pl.col("sequence_counter") == 3).then(float("inf")).otherwise(pl.col("tof_1_v0")).alias("tof_1_v0"),
        pl.when(pl.col("sequence_counter") == 4).then(float("nan")).otherwise(pl.col("tof_5_v9")).alias("tof_5_v9"))
    assert_parity(frame, spec, demographics_for(frame))


def test_batch_is_independent_of_row_order_and_lazy_input(faulty_frame):
    spec = FeatureSpec.cmi_default()
    demographics = demographics_for(faulty_frame)
    expected = compute_features(faulty_frame, spec, handedness=demographics)
    shuffled = faulty_frame.sample(fraction=1.0, shuffle=True, seed=3).lazy()
    assert compute_features(shuffled, spec, handedness=demographics).equals(expected)


@pytest.mark.parametrize("cut", [0, 7, 23])
def test_causality_future_samples_change_nothing(faulty_frame, cut):
    spec = kitchen_sink_spec()
    sid = "SEQ_000004"
    seq = faulty_frame.filter(pl.col("sequence_id") == sid)
    rng = np.random.default_rng(cut)
    inputs = [c for c in spec.input_columns() if c != "sequence_counter_f"]
    future = pl.col("sequence_counter") > cut
    perturbed = seq.with_columns(
        pl.when(future).then(pl.col(c) * 3.0 + pl.lit(rng.normal(size=seq.height))).otherwise(pl.col(c))
        .cast(seq.schema[c], strict=False).alias(c) for c in inputs)
    hands = pl.DataFrame({"sequence_id": [sid], "handedness": [0]})
    a = compute_features(seq, spec, handedness=hands).select(spec.names()).to_numpy()
    b = compute_features(perturbed, spec, handedness=hands).select(spec.names()).to_numpy()
    np.testing.assert_array_equal(a[:cut + 1], b[:cut + 1])
    assert not np.array_equal(a[cut + 1:], b[cut + 1:])  # the perturbation did reach the features
    ref_a = reference_features(seq, spec, {sid: 0})[sid]
    ref_b = reference_features(perturbed, spec, {sid: 0})[sid]
    np.testing.assert_array_equal(ref_a[:cut + 1], ref_b[:cut + 1])


def test_streaming_reset_and_push_match_push_many(faulty_frame):
    spec = FeatureSpec.cmi_default()
    rows = faulty_frame.filter(pl.col("sequence_id") == "SEQ_000000").select(
        pl.col(c).cast(pl.Float64) for c in spec.input_columns()).to_numpy()
    stream = StreamingFeatures(spec)
    first = stream.push_many(rows)
    stream.reset()
    again = np.array([stream.push(list(r)) for r in rows])
    np.testing.assert_array_equal(first, again)
    assert first.shape == (len(rows), len(spec.names()))
