"""Features mean what they say: physics on constructed motions, and every windowed family
against a straightforward numpy computation on explicit windows."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from feature_synth import gravity_in_device, make_cmi_frame, quat_exp, quat_multiply, random_quaternions

from edgekit.data.cmi_schema import ACC_COLUMNS, GRAVITY_M_S2, ROT_COLUMNS, TOF_COLUMNS
from edgekit.features import (
    BandPower,
    Correlation,
    Families,
    FeatureSpec,
    InputSpec,
    RollingStat,
    RollingStats,
    Stationarity,
    StreamingFeatures,
    WindowedChannels,
    compute_features,
    mirror_frame,
    mirror_plan,
    mirror_sample,
)

DT = 0.02


def imu_frame(q: np.ndarray, acc: np.ndarray, sequence_ids: np.ndarray) -> pl.DataFrame:
    counter = np.concatenate([np.arange((sequence_ids == s).sum()) for s in np.unique(sequence_ids)])
    cols = {"sequence_id": sequence_ids, "sequence_counter": counter}
    cols.update({c: acc[:, i] for i, c in enumerate(ACC_COLUMNS)})
    cols.update({c: q[:, i] for i, c in enumerate(ROT_COLUMNS)})
    return pl.DataFrame(cols)


def imu_spec(**families) -> FeatureSpec:
    return FeatureSpec(inputs=InputSpec(), sample_period_s=DT, families=Families(**families))


def features(frame: pl.DataFrame, spec: FeatureSpec) -> dict[str, np.ndarray]:
    out = compute_features(frame, spec)
    return {n: out[n].to_numpy().astype(np.float64) for n in spec.names()}


def test_still_device_in_random_orientations_has_no_linear_acceleration():
    rng = np.random.default_rng(0)
    q = np.repeat(random_quaternions(rng, 20), 10, axis=0)
    frame = imu_frame(q, gravity_in_device(q), np.repeat([f"S{i:02d}" for i in range(20)], 10))
    f = features(frame, imu_spec(linear_acc=True, angular_velocity=True, tilt=None, stationarity=None))
    for a in "xyz":
        np.testing.assert_allclose(f[f"linacc_{a}"], 0.0, atol=1e-5)
        np.testing.assert_allclose(f[f"angvel_{a}"], 0.0, atol=1e-5)
    np.testing.assert_allclose(f["acc_mag"], GRAVITY_M_S2, rtol=1e-6)


def test_constant_rotation_rate_is_recovered_by_angular_velocity():
    omega = np.array([0.3, -1.1, 2.4])  # rad/s, body frame
    t = np.arange(200)[:, None] * DT
    q0 = random_quaternions(np.random.default_rng(1), 1)
    q = quat_multiply(np.repeat(q0, 200, axis=0), quat_exp(omega * t))
    q[1::3] *= -1.0  # the sign ambiguity must not disturb the derivative
    frame = imu_frame(q, gravity_in_device(q), np.repeat(["S"], 200))
    f = features(frame, imu_spec(angular_velocity=True, angular_distance=True))
    measured = np.stack([f[f"angvel_{a}"] for a in "xyz"], axis=1)[1:]
    np.testing.assert_allclose(measured, np.broadcast_to(omega, measured.shape), rtol=0.01)
    np.testing.assert_allclose(f["angdist"][1:], np.linalg.norm(omega) * DT, rtol=0.01)
    assert np.all(measured[0] != 0) and np.all(f["angvel_x"][0] == 0.0)  # first sample: 0 by definition


def test_negating_quaternions_changes_no_feature():
    frame = make_cmi_frame([40, 25], seed=4, faults=False)
    rng = np.random.default_rng(2)
    flip = pl.Series(rng.random(frame.height) < 0.5)
    flipped = frame.with_columns(pl.when(flip).then(-pl.col(c)).otherwise(pl.col(c)).alias(c) for c in ROT_COLUMNS)
    spec = FeatureSpec.cmi_default()
    hands = pl.DataFrame({"sequence_id": ["SEQ_000000", "SEQ_000001"], "handedness": [1, 0]})
    a = compute_features(frame, spec, handedness=hands).select(spec.names()).to_numpy()
    b = compute_features(flipped, spec, handedness=hands).select(spec.names()).to_numpy()
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_mirroring_twice_is_identity_and_mirrored_left_equals_right():
    spec = FeatureSpec.cmi_default()
    frame = make_cmi_frame([30, 20], seed=6)
    twice = mirror_frame(mirror_frame(frame, spec), spec)
    assert twice.equals(frame)
    assert mirror_frame(frame, spec.input_columns()).equals(mirror_frame(frame, spec))
    plan = mirror_plan(spec.inputs)
    sample = np.random.default_rng(0).normal(size=len(plan.columns)).tolist()
    assert mirror_sample(mirror_sample(sample, plan), plan) == sample

    once = mirror_frame(frame, spec)
    row, mirrored = frame.row(0, named=True), once.row(0, named=True)
    assert mirrored["acc_x"] == -row["acc_x"] and mirrored["acc_y"] == row["acc_y"]
    assert (mirrored["rot_w"], mirrored["rot_x"]) == (row["rot_w"], row["rot_x"])
    assert (mirrored["rot_y"], mirrored["rot_z"]) == (-row["rot_y"], -row["rot_z"])
    assert (mirrored["thm_3"], mirrored["thm_5"], mirrored["thm_1"]) == (row["thm_5"], row["thm_3"], row["thm_1"])
    assert mirrored["tof_3_v0"] == row["tof_5_v7"] and mirrored["tof_1_v10"] == row["tof_1_v13"]

    right = pl.DataFrame({"sequence_id": ["SEQ_000000", "SEQ_000001"], "handedness": [1, 1]})
    left = right.with_columns(pl.lit(0).alias("handedness"))
    np.testing.assert_allclose(compute_features(once, spec, handedness=left).select(spec.names()).to_numpy(),
                               compute_features(frame, spec, handedness=right).select(spec.names()).to_numpy(),
                               rtol=1e-6, atol=1e-6)
    left_rows = once.filter(pl.col("sequence_id") == "SEQ_000001").select(spec.input_columns()).to_numpy()
    right_rows = frame.filter(pl.col("sequence_id") == "SEQ_000001").select(spec.input_columns()).to_numpy()
    np.testing.assert_allclose(StreamingFeatures(spec, handedness=0).push_many(left_rows),
                               StreamingFeatures(spec, handedness=1).push_many(right_rows), rtol=1e-9, atol=1e-9)


def test_mirror_constants_are_physically_consistent():
    """A mirrored still device is still a still device: gravity removal still cancels."""
    rng = np.random.default_rng(3)
    q = np.repeat(random_quaternions(rng, 8), 5, axis=0)
    frame = imu_frame(q, gravity_in_device(q), np.repeat([f"S{i}" for i in range(8)], 5))
    mirrored = mirror_frame(frame, InputSpec())
    f = features(mirrored, imu_spec(linear_acc=True))
    for a in "xyz":
        np.testing.assert_allclose(f[f"linacc_{a}"], 0.0, atol=1e-5)


# --- windowed families against numpy on explicit windows ----------------------------------------
def signal_spec(families: Families) -> FeatureSpec:
    return FeatureSpec(inputs=InputSpec(rot=None, extra=("a", "b")), sample_period_s=DT, families=families)


def signal_frame(a: np.ndarray, b: np.ndarray) -> pl.DataFrame:
    n = len(a)
    return pl.DataFrame({"sequence_id": ["S"] * n, "sequence_counter": np.arange(n), "acc_x": np.ones(n),
                         "acc_y": np.zeros(n), "acc_z": np.full(n, 9.81), "a": a, "b": b})


def windows(x: np.ndarray, w: int) -> list[np.ndarray]:
    return [x[max(0, t - w + 1):t + 1] for t in range(len(x))]


def both_pipelines(frame: pl.DataFrame, spec: FeatureSpec) -> list[dict[str, np.ndarray]]:
    batch = compute_features(frame, spec)
    rows = frame.select(spec.input_columns()).to_numpy()
    ref = StreamingFeatures(spec).push_many(rows)
    return [{n: batch[n].to_numpy().astype(np.float64) for n in spec.names()},
            {n: ref[:, j] for j, n in enumerate(spec.names())}]


def test_rolling_std_max_min_mean_energy_zcr_match_numpy():
    rng = np.random.default_rng(5)
    a = np.sin(np.arange(90) * 0.7) + rng.normal(scale=0.3, size=90)
    a[30:38] = 2.5  # a flat stretch: std exactly 0 there
    spec = signal_spec(Families(raw=None, acc_magnitude=False, rolling=(RollingStats(
        ("a",), (1, 6, 20), (RollingStat.MEAN, RollingStat.STD, RollingStat.MIN, RollingStat.MAX)),),
        energy=WindowedChannels(("a",), (6,)), zero_crossings=WindowedChannels(("a",), (6,))))
    crossed = np.concatenate([[0.0], (a[1:] * a[:-1] < 0).astype(float)])
    for f in both_pipelines(signal_frame(a, a), spec):
        for w in (1, 6, 20):
            np.testing.assert_allclose(f[f"a_roll{w}_mean"], [x.mean() for x in windows(a, w)], atol=1e-6)
            np.testing.assert_allclose(f[f"a_roll{w}_std"], [x.std() for x in windows(a, w)], atol=1e-6)
            np.testing.assert_allclose(f[f"a_roll{w}_min"], [x.min() for x in windows(a, w)], atol=1e-6)
            np.testing.assert_allclose(f[f"a_roll{w}_max"], [x.max() for x in windows(a, w)], atol=1e-6)
        np.testing.assert_allclose(f["a_energy6"], [np.mean(x * x) for x in windows(a, 6)], rtol=1e-6)
        np.testing.assert_allclose(f["a_zcr6"], [x.mean() for x in windows(crossed, 6)], atol=1e-7)
        assert f["a_zcr6"].max() > 0


def test_rolling_correlation_matches_numpy_and_is_zero_when_flat():
    rng = np.random.default_rng(6)
    a = rng.normal(size=80)
    b = 0.6 * a + rng.normal(scale=0.5, size=80)
    b[40:60] = 1.0  # flat: correlation defined as 0
    spec = signal_spec(Families(raw=None, acc_magnitude=False, correlation=Correlation((("a", "b"),), (10,))))

    def corr(x, y):
        if x.var() < 1e-9 or y.var() < 1e-9:
            return 0.0
        return float(np.corrcoef(x, y)[0, 1])

    expected = [corr(x, y) for x, y in zip(windows(a, 10), windows(b, 10))]
    for f in both_pipelines(signal_frame(a, b), spec):
        np.testing.assert_allclose(f["a_b_corr10"], expected, atol=1e-6)
        assert np.all(f["a_b_corr10"][50:60] == 0.0) and f["a_b_corr10"][20:40].mean() > 0.5


@pytest.mark.parametrize("freq", [2.0, 4.0, 6.0])
def test_band_power_of_a_sinusoid_peaks_at_its_bin(freq):
    t = np.arange(100) * DT
    a = 1.5 * np.sin(2 * np.pi * freq * t + 0.4) + 0.7  # the offset must not leak into the bins
    spec = signal_spec(Families(raw=None, acc_magnitude=False,
                                band_power=(BandPower(("a",), 25, (2.0, 4.0, 6.0, 8.0)),)))
    for f in both_pipelines(signal_frame(a, a), spec):
        powers = {g: f[f"a_bp{g:g}hz_w25"] for g in (2.0, 4.0, 6.0, 8.0)}
        full = slice(24, None)
        assert all(powers[freq][full].min() > 10 * powers[g][full].max() for g in powers if g != freq)
        np.testing.assert_allclose(powers[freq][full], 1.5 ** 2 / 4, rtol=1e-6)  # |A N / 2|^2 / N^2
        k = int(freq * 25 * DT)
        fft = [abs(np.fft.rfft(a[s - 24:s + 1])[k]) ** 2 / 25 ** 2 for s in range(24, 100)]
        np.testing.assert_allclose(powers[freq][full], fft, rtol=1e-6)


def test_stationarity_flag_follows_rolling_std_of_acc_magnitude():
    n = 60
    rng = np.random.default_rng(8)
    acc = np.tile([0.0, 0.0, GRAVITY_M_S2], (n, 1)) + rng.normal(scale=0.01, size=(n, 3))
    acc[30:] += rng.normal(scale=2.0, size=(30, 3))
    q = np.tile([1.0, 0.0, 0.0, 0.0], (n, 1))
    f = features(imu_frame(q, acc, np.repeat(["S"], n)), imu_spec(stationarity=Stationarity(window=20, threshold=0.1)))
    assert np.all(f["stationary20"][:30] == 1.0) and np.all(f["stationary20"][35:] == 0.0)


def test_tof_aggregates_ignore_missing_pixels():
    frame = make_cmi_frame([3], seed=9, faults=False)
    pixels = np.full(64, -1)
    pixels[[0, 9, 63]] = [10, 20, 60]
    frame = frame.with_columns(pl.lit(int(v)).cast(pl.Int16).alias(c) for v, c in zip(pixels, TOF_COLUMNS[:64]))
    spec = FeatureSpec.cmi_default()
    hands = pl.DataFrame({"sequence_id": ["SEQ_000000"], "handedness": [1]})
    f = compute_features(frame, spec, handedness=hands)
    valid = np.array([10.0, 20.0, 60.0])
    np.testing.assert_allclose(f.select("tof_1_mean", "tof_1_std", "tof_1_min", "tof_1_max", "tof_1_valid").row(0),
                               [valid.mean(), valid.std(), 10.0, 60.0, 3 / 64], rtol=1e-6)
