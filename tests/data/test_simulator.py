"""The wrist simulator: schema, determinism, physics, handedness, faults, sensors, files, learnability."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from edgekit.data import cmi_schema as cs
from edgekit.data.simulator import TRAIN_DTYPES, SimConfig, read_simulation, simulate, simulate_imu, write_simulation
from edgekit.data.simulator.gestures import FACE_GESTURES
from edgekit.data.simulator.kinematics import (
    matrix_to_quat,
    quat_conj,
    quat_exp,
    quat_mul,
    quat_to_matrix,
    quat_to_rotvec,
)
from edgekit.data.simulator.mirror import mirror_imu, mirror_thm, mirror_tof
from edgekit.data.simulator.sensors import PIXEL_DIRS
from edgekit.data.simulator.subjects import DEMOGRAPHICS_DTYPES
from edgekit.errors import EdgekitError

G = cs.GRAVITY_M_S2
NO_FAULTS = dict(imu_only_fraction=0.0, rot_dropout_fraction=0.0, thm5_missing_fraction=0.0, tof_pixel_dropout=0.0)


@pytest.fixture(scope="module")
def sim():
    return simulate(400, seed=3, config=SimConfig(sequences_per_subject=20))


def _per_sequence(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.group_by("sequence_id", maintain_order=True).agg(
        pl.len(),
        pl.col("gesture").first(),
        pl.col("subject").first(),
        pl.col("thm_1").is_null().all().alias("imu_only"),
    )


# --- schema -----------------------------------------------------------------------------------


def test_tables_have_the_cmi_columns_and_documented_dtypes(sim):
    assert tuple(sim.train.columns) == cs.TRAIN_COLUMNS
    assert dict(sim.train.schema) == TRAIN_DTYPES
    assert sim.train.schema["sequence_counter"] == pl.Int32
    assert {sim.train.schema[c] for c in cs.ACC_COLUMNS + cs.ROT_COLUMNS + cs.THM_COLUMNS} == {pl.Float32}
    assert {sim.train.schema[c] for c in cs.TOF_COLUMNS} == {pl.Int16}
    assert tuple(sim.demographics.columns) == cs.DEMOGRAPHICS_COLUMNS
    assert dict(sim.demographics.schema) == DEMOGRAPHICS_DTYPES
    assert sim.sample_period_s == cs.SIM_SAMPLE_PERIOD_S
    assert simulate(3, config=SimConfig(sample_period_s=0.01)).sample_period_s == 0.01


def test_identifiers_and_labels_look_like_the_competition(sim):
    t = sim.train
    assert t["sequence_id"].str.contains(r"^SEQ_\d{6}$").all()
    assert t["subject"].str.contains(r"^SUBJ_\d{6}$").all()
    expected_row_id = t["sequence_id"] + "_" + t["sequence_counter"].cast(pl.Utf8).str.zfill(6)
    assert (t["row_id"] == expected_row_id).all() and t["row_id"].n_unique() == t.height
    assert set(t["gesture"].unique()) <= set(cs.GESTURES)
    assert set(t["orientation"].unique()) == set(cs.ORIENTATIONS)
    is_target = t["gesture"].is_in(list(cs.TARGET_GESTURES)).to_numpy()
    np.testing.assert_array_equal(t["sequence_type"].to_numpy(), np.where(is_target, "Target", "Non-Target"))
    assert set(sim.demographics["subject"]) == set(t["subject"].unique())
    for column in ("adult_child", "sex", "handedness"):
        assert set(sim.demographics[column].unique()) <= {0, 1}


def test_sequences_run_move_pause_gesture_with_counters_from_zero(sim):
    t = sim.train
    code = t["behavior"].replace_strict({b: i for i, b in enumerate(cs.BEHAVIORS)}, return_dtype=pl.Int8)
    checks = t.with_columns(code.alias("code")).group_by("sequence_id").agg(
        (pl.col("sequence_counter") == pl.int_range(pl.len())).all().alias("counters"),
        (pl.col("code").diff().drop_nulls() >= 0).all().alias("ordered"),
        pl.col("code").n_unique().alias("n_behaviors"),
        pl.col("code").first().alias("first"),
    )
    assert checks["counters"].all() and checks["ordered"].all()
    assert (checks["n_behaviors"] == 3).all() and (checks["first"] == 0).all()
    gesture_phase = t["phase"] == "Gesture"
    assert (gesture_phase == (t["behavior"] == "Performs gesture")).all()


def test_lengths_are_in_the_competition_range(sim):
    lengths = _per_sequence(sim.train)["len"]
    assert lengths.min() >= 29 and lengths.max() <= 700
    assert 60 <= lengths.mean() <= 80


def test_same_seed_same_data_other_seed_other_data():
    a, b, c = simulate(40, seed=5), simulate(40, seed=5), simulate(40, seed=6)
    assert a.train.equals(b.train) and a.demographics.equals(b.demographics)
    assert not a.train.equals(c.train)


def test_bad_requests_are_user_errors():
    with pytest.raises(EdgekitError, match="n_sequences"):
        simulate(0)
    with pytest.raises(EdgekitError, match="imu_only_fraction"):
        SimConfig(imu_only_fraction=1.5)
    with pytest.raises(EdgekitError, match="min_length"):
        SimConfig(min_length=10)


# --- physics ----------------------------------------------------------------------------------


def _random_unit_quats(rng, n):
    q = rng.normal(size=(n, 4))
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def test_still_device_reads_gravity_in_its_own_frame():
    rng = np.random.default_rng(0)
    for q0 in _random_unit_quats(rng, 6):
        q, acc = simulate_imu(np.zeros((50, 3)), np.zeros((50, 3)), q0, 0.02)
        np.testing.assert_allclose(q, np.broadcast_to(q0, q.shape), atol=1e-12)
        np.testing.assert_allclose(np.linalg.norm(acc, axis=1), G, rtol=1e-9)
        np.testing.assert_allclose(acc, quat_to_matrix(q).transpose(0, 2, 1) @ np.array([0.0, 0.0, G]), atol=1e-9)
    # a device lying flat, screen up, reads +g on its z axis
    _, flat = simulate_imu(np.zeros((2, 3)), np.zeros((2, 3)), np.array([1.0, 0, 0, 0]), 0.02)
    np.testing.assert_allclose(flat, [[0, 0, G]] * 2, atol=1e-12)


def test_quaternion_matrix_round_trip_including_half_turns():
    rng = np.random.default_rng(2)
    q = np.concatenate([_random_unit_quats(rng, 50), [[0, 1, 0, 0], [0, 0, 0.6, 0.8], [1, 0, 0, 0]]])
    back = matrix_to_quat(quat_to_matrix(q))
    np.testing.assert_allclose(np.abs(np.sum(back * q, axis=1)), 1.0, atol=1e-12)  # equal up to sign


def test_linear_acceleration_adds_to_gravity_in_the_world_frame():
    q0 = quat_exp(np.array([0.3, -0.8, 0.5]))
    push = np.tile([1.5, 0.0, -2.0], (5, 1))
    q, acc = simulate_imu(np.zeros((5, 3)), push, q0, 0.02)
    np.testing.assert_allclose(quat_to_matrix(q[0]) @ acc[0], [1.5, 0.0, G - 2.0], atol=1e-9)


@pytest.mark.parametrize("axis", [(0, 0, 1), (1, 0, 0), (0.3, -0.5, 0.8)])
def test_constant_rotation_rate_integrates_to_the_right_angle(axis):
    axis = np.asarray(axis, dtype=float) / np.linalg.norm(axis)
    omega, steps, dt = 1.3, 100, 0.02
    q0 = quat_exp(np.array([0.2, 0.4, -0.1]))
    q, _ = simulate_imu(np.tile(omega * axis, (steps + 1, 1)), np.zeros((steps + 1, 3)), q0, dt)
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-12)
    world_turn = quat_to_rotvec(quat_mul(q[-1], quat_conj(q0)))
    assert np.linalg.norm(world_turn) == pytest.approx(omega * steps * dt, rel=0.01)
    # body-frame rate: the turn about the device's own axis is the same rotation vector
    np.testing.assert_allclose(quat_to_rotvec(quat_mul(quat_conj(q0), q[-1])), omega * steps * dt * axis, atol=1e-9)


def test_simulated_quaternions_are_unit_and_agree_with_gravity_while_the_hand_rests(sim):
    t = sim.train.drop_nulls(cs.ROT_COLUMNS)
    rot = t.select(cs.ROT_COLUMNS).to_numpy().astype(np.float64)
    np.testing.assert_allclose(np.linalg.norm(rot, axis=1), 1.0, atol=1e-5)
    still = (t["behavior"] == "Hand at target location").to_numpy()
    acc = t.select(cs.ACC_COLUMNS).to_numpy()[still]
    up_in_device = quat_to_matrix(rot[still])[:, 2, :]  # R^T ẑ
    cos = np.sum(acc * up_in_device, axis=1) / np.linalg.norm(acc, axis=1)
    assert np.degrees(np.median(np.arccos(np.clip(cos, -1, 1)))) < 3.0
    assert np.median(np.linalg.norm(acc, axis=1)) == pytest.approx(G, rel=0.02)
    # with movement the accelerometer sees more than gravity
    moving = sim.train.filter(pl.col("phase") == "Gesture").select(cs.ACC_COLUMNS).to_numpy()
    assert np.std(np.linalg.norm(moving, axis=1)) > 0.5


def test_quaternion_signs_flip_as_on_devices():
    def sign_flips(fraction):
        t = simulate(60, seed=2, config=SimConfig(rot_dropout_fraction=0.0, quat_hemisphere_fraction=fraction)).train
        rot = t.select(cs.ROT_COLUMNS).to_numpy()
        same_seq = (t["sequence_id"] == t["sequence_id"].shift(1)).to_numpy()[1:]
        return int(np.sum((np.sum(rot[1:] * rot[:-1], axis=1) < 0) & same_seq))

    assert sign_flips(1.0) > 0  # w >= 0 reporting flips q -> -q whenever w crosses zero
    assert sign_flips(0.0) == 0  # a continuous-sign IMU never does


# --- handedness -------------------------------------------------------------------------------


def test_left_handed_subjects_are_the_mirror_of_the_same_motion():
    right = simulate(30, seed=11, config=SimConfig(left_handed_fraction=0.0, **NO_FAULTS))
    left = simulate(30, seed=11, config=SimConfig(left_handed_fraction=1.0, **NO_FAULTS))
    assert (right.demographics["handedness"] == 1).all() and (left.demographics["handedness"] == 0).all()
    r, lf = right.train, left.train
    np.testing.assert_array_equal(lf["acc_x"], -r["acc_x"])
    np.testing.assert_array_equal(lf.select("acc_y", "acc_z"), r.select("acc_y", "acc_z"))
    np.testing.assert_array_equal(lf.select("rot_w", "rot_x"), r.select("rot_w", "rot_x"))
    np.testing.assert_array_equal(lf.select("rot_y", "rot_z"), -r.select("rot_y", "rot_z").to_numpy())
    np.testing.assert_array_equal(lf.select("thm_3", "thm_5"), r.select("thm_5", "thm_3"))
    np.testing.assert_array_equal(lf.select("thm_1", "thm_2", "thm_4"), r.select("thm_1", "thm_2", "thm_4"))
    images = {name: f.select(cs.TOF_COLUMNS).to_numpy().reshape(-1, 5, 8, 8) for name, f in (("r", r), ("l", lf))}
    np.testing.assert_array_equal(images["l"][:, 2], images["r"][:, 4, :, ::-1])  # sensor 3 <- flipped 5
    np.testing.assert_array_equal(images["l"][:, 0], images["r"][:, 0, :, ::-1])  # sensor 1 flipped
    # the labels do not change
    assert lf.select(cs.META_COLUMNS).drop("subject").equals(r.select(cs.META_COLUMNS).drop("subject"))


def test_sensor_layout_is_symmetric_under_the_mirror():
    # what makes "mirror the right-hand recording" the same as "record the mirrored motion"
    rays = PIXEL_DIRS.reshape(5, 8, 8, 3) * np.array(cs.MIRROR_ACC_SIGN)
    swapped = rays[[0, 1, 4, 3, 2]]  # sensors 3 <-> 5
    np.testing.assert_allclose(swapped[:, :, ::-1], PIXEL_DIRS.reshape(5, 8, 8, 3), atol=1e-12)


def test_mirror_is_its_own_inverse():
    rng = np.random.default_rng(1)
    acc, rot = rng.normal(size=(7, 3)), rng.normal(size=(7, 4))
    thm, tof = rng.normal(size=(7, 5)), rng.integers(-1, 255, size=(7, 320))
    np.testing.assert_array_equal(mirror_imu(*mirror_imu(acc, rot))[0], acc)
    np.testing.assert_array_equal(mirror_imu(*mirror_imu(acc, rot))[1], rot)
    np.testing.assert_array_equal(mirror_thm(mirror_thm(thm)), thm)
    np.testing.assert_array_equal(mirror_tof(mirror_tof(tof)), tof)
    assert not np.array_equal(mirror_tof(tof), tof)


# --- faults and proximity sensors --------------------------------------------------------------


def test_fault_rates_follow_the_config():
    config = SimConfig(
        sequences_per_subject=20, imu_only_fraction=0.5, rot_dropout_fraction=0.02, thm5_missing_fraction=0.2
    )
    t = simulate(600, seed=4, config=config).train
    per_seq = _per_sequence(t)
    assert per_seq["imu_only"].mean() == pytest.approx(0.5, abs=0.07)
    assert t["rot_w"].null_count() / t.height == pytest.approx(0.02, rel=0.3)
    assert (t.select(cs.ROT_COLUMNS).null_count().row(0)) == (t["rot_w"].null_count(),) * 4  # whole rows
    sensors = t.filter(pl.col("thm_1").is_not_null())
    assert sensors["thm_5"].null_count() / sensors.height == pytest.approx(0.2, abs=0.08)
    assert sensors.select(cs.THM_COLUMNS[:4]).null_count().sum_horizontal().item() == 0
    # no faults at all when asked for none
    clean = simulate(40, seed=4, config=SimConfig(**NO_FAULTS)).train
    assert clean.null_count().sum_horizontal().item() == 0


def test_imu_only_sequences_have_no_thermopile_or_tof_at_all(sim):
    t = sim.train
    imu_only = set(_per_sequence(t).filter(pl.col("imu_only"))["sequence_id"])
    assert 0.25 < len(imu_only) / t["sequence_id"].n_unique() < 0.55
    blind = t.filter(pl.col("sequence_id").is_in(list(imu_only)))
    seeing = t.filter(~pl.col("sequence_id").is_in(list(imu_only)))
    assert blind.select(cs.THM_COLUMNS + cs.TOF_COLUMNS).null_count().sum_horizontal().item() == blind.height * 325
    assert seeing.select(cs.TOF_COLUMNS).null_count().sum_horizontal().item() == 0
    assert blind.select(cs.ACC_COLUMNS).null_count().sum_horizontal().item() == 0


def test_tof_values_and_no_return_rate(sim):
    tof = sim.train.drop_nulls("tof_1_v0").select(cs.TOF_COLUMNS).to_numpy()
    assert tof.min() == cs.TOF_NO_RETURN and tof.max() <= 254
    assert 0.5 <= np.mean(tof == cs.TOF_NO_RETURN) <= 0.68
    more = simulate(60, seed=3, config=SimConfig(imu_only_fraction=0.0, tof_pixel_dropout=0.5)).train
    assert np.mean(more.select(cs.TOF_COLUMNS).to_numpy() == -1) > np.mean(tof == -1) + 0.15


def test_face_gestures_read_warmer_and_nearer(sim):
    t = sim.train.filter((pl.col("phase") == "Gesture") & pl.col("thm_1").is_not_null())
    near_face = t["gesture"].is_in(list(FACE_GESTURES)).to_numpy()
    away_from_body = ["Text on phone", "Wave hello", "Write name in air", "Feel around in tray and pull out an object"]
    away = t["gesture"].is_in(away_from_body).to_numpy()
    hottest = np.nanmax(t.select(cs.THM_COLUMNS).to_numpy(), axis=1)
    assert hottest[near_face].mean() > hottest[away].mean() + 2.0
    tof = t.select(cs.TOF_COLUMNS).to_numpy()
    near = ((tof >= 0) & (tof < 40)).mean(axis=1)  # returns within ~16 cm
    assert near[near_face].mean() > 3 * near[away].mean() and near[near_face].mean() > 0.1
    # skin temperature, not a room-temperature reading, when a sensor is right at the face
    assert np.percentile(hottest[near_face], 90) > 30.0
    thm = t.select(cs.THM_COLUMNS).to_numpy()
    assert 18.0 < np.nanmin(thm) and np.nanmax(thm) < 38.0


# --- files ------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_write_simulation_round_trips(tmp_path, suffix):
    data = simulate(12, seed=1)
    paths = write_simulation(data, tmp_path / "sim" / f"train{suffix}")
    folder = tmp_path / "sim"
    assert paths == {"train": folder / f"train{suffix}", "demographics": folder / "train_demographics.csv"}
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in paths.values())  # no temp files left
    assert read_simulation(paths["train"]).equals(data.train)
    assert pl.read_csv(paths["demographics"]).equals(data.demographics)
    if suffix == ".parquet":
        assert pl.read_parquet(paths["train"]).equals(data.train)


def test_write_simulation_refuses_unknown_suffix(tmp_path):
    with pytest.raises(EdgekitError, match=r"\.json"):
        write_simulation(simulate(3), tmp_path / "train.json")


# --- learnability -----------------------------------------------------------------------------


def test_a_quick_baseline_learns_but_does_not_solve_it():
    sklearn = pytest.importorskip("sklearn")
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupShuffleSplit
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data = simulate(600, seed=0, config=SimConfig(sequences_per_subject=20))
    channels = cs.ACC_COLUMNS + cs.ROT_COLUMNS + cs.THM_COLUMNS
    per_seq = data.train.group_by("sequence_id", maintain_order=True).agg(
        pl.col("gesture").first(),
        pl.col("subject").first(),
        *[pl.col(c).mean().alias(f"{c}_mean") for c in channels],
        *[pl.col(c).std().alias(f"{c}_std") for c in channels],
    )
    x = np.nan_to_num(per_seq.select(pl.exclude("sequence_id", "gesture", "subject")).to_numpy().astype(float))
    y = np.array([cs.GESTURES.index(g) for g in per_seq["gesture"]])
    train, test = next(GroupShuffleSplit(1, test_size=0.3, random_state=0).split(x, y, per_seq["subject"]))
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(x[train], y[train])
    predicted = model.predict(x[test])
    accuracy = np.mean(predicted == y[test])
    assert sklearn is not None and 0.3 < accuracy < 0.8  # chance is 1/18, the majority class ~9 %
    is_target = np.arange(len(cs.GESTURES)) < len(cs.TARGET_GESTURES)
    assert np.mean(is_target[predicted] == is_target[y[test]]) > accuracy + 0.15  # target or not is easier
