"""`simulate`: subjects → sequences → motion → IMU and proximity sensors → mirror → faults → table.

Randomness comes from independent streams (one per stage, spawned from the seed), so switching
one feature off (say, all faults) leaves every other draw, and so every motion, unchanged.
"""

from __future__ import annotations

import numpy as np

from edgekit.data import cmi_schema as cs
from edgekit.data.simulator import body, faults, kinematics as kin, mirror
from edgekit.data.simulator.config import SimConfig
from edgekit.data.simulator.gestures import GESTURE_PROGRAMS
from edgekit.data.simulator.motion import Motion, simulate_motion
from edgekit.data.simulator.sensors import simulate_sensors
from edgekit.data.simulator.subjects import sample_subjects
from edgekit.data.simulator.table import SimulatedData, train_frame
from edgekit.data.simulator.timeline import Layout, sample_lengths, split_phases
from edgekit.errors import EdgekitError

_STREAMS = ("subjects", "sequences", "motion", "imu", "sensors", "faults", "imu_only")
GESTURE_WEIGHTS = np.array([g.weight for g in GESTURE_PROGRAMS]) / sum(g.weight for g in GESTURE_PROGRAMS)


def simulate(n_sequences: int, seed: int = 0, config: SimConfig | None = None) -> SimulatedData:
    """Simulate `n_sequences` CMI-schema sequences (train table + demographics), deterministic
    for a given seed and config."""
    if not isinstance(n_sequences, (int, np.integer)) or n_sequences < 1:
        raise EdgekitError(f"simulate: n_sequences={n_sequences!r}; expected a positive integer")
    config = config or SimConfig()
    seeds = np.random.SeedSequence(seed).spawn(len(_STREAMS))
    rng = {name: np.random.default_rng(child) for name, child in zip(_STREAMS, seeds)}
    dt, v, n = config.sample_period_s, config.motion_variability, int(n_sequences)

    subjects = sample_subjects(rng["subjects"], config.subjects_for(n), config.left_handed_fraction, v)
    r = rng["sequences"]
    subj = r.permutation(np.arange(n) % len(subjects.ids))
    gesture = r.choice(len(GESTURE_PROGRAMS), size=n, p=GESTURE_WEIGHTS)
    orientation = r.integers(0, len(cs.ORIENTATIONS), n)
    length_scale = np.array([g.length_scale for g in GESTURE_PROGRAMS])[gesture] / np.sqrt(subjects.speed[subj])
    lengths = sample_lengths(r, n, length_scale, config)
    sequence_ids = np.array([f"SEQ_{k:06d}" for k in np.sort(r.choice(max(100_000, 10 * n), n, replace=False))])
    q_posture = body.posture_quats(r, orientation, v)
    heading = subjects.heading[subj] + v * r.normal(0.0, np.deg2rad(10.0), n)
    layout = Layout.from_lengths(lengths)
    phases = split_phases(r, layout)
    s = layout.seq_of_row

    motion = simulate_motion(rng["motion"], layout, phases, gesture, subj, subjects, dt, v)
    gravity_body = body.posture_gravity(q_posture)
    acc, rot = _imu(rng["imu"], motion, layout, gravity_body, kin.quat_mul(_yaw(heading), q_posture), config)

    # proximity sensors, only for the sequences that have them
    has_seq = ~faults.choose(rng["imu_only"], n, config.imu_only_fraction)
    has_row = has_seq[s]
    centers, radii = body.blob_geometry(subjects.height_m)
    readings = simulate_sensors(
        rng["sensors"],
        Layout.from_lengths(lengths[has_seq]),
        motion.rot_body[has_row],
        motion.wrist[has_row],
        centers[subj[has_seq]],
        radii[subj[has_seq]],
        gravity_body[has_seq] / cs.GRAVITY_M_S2,
        subjects.skin_c[subj[has_seq]],
        dt,
        config.tof_noise_mm,
        config.thm_noise_c,
        config.tof_pixel_dropout,
    )

    # left-handed subjects: the mirror image of the right-hand motion just simulated
    left_row = ~subjects.right_handed[subj][s]
    acc[left_row], rot[left_row] = mirror.mirror_imu(acc[left_row], rot[left_row])
    left_sensor_row = left_row[has_row]
    readings.thm[left_sensor_row] = mirror.mirror_thm(readings.thm[left_sensor_row])
    readings.tof[left_sensor_row] = mirror.mirror_tof(readings.tof[left_sensor_row])
    thm = np.full((layout.n_rows, cs.TOF_SENSORS), np.nan, dtype=np.float32)
    thm[has_row] = readings.thm
    tof = np.full((len(cs.TOF_COLUMNS), layout.n_rows), cs.TOF_NO_RETURN, dtype=np.int16)
    tof[:, has_row] = readings.tof.T  # column-major: each table column is one contiguous array

    # device faults
    f = rng["faults"]
    rot = faults.quaternion_signs(f, rot, layout, config.quat_hemisphere_fraction)
    rot[faults.rot_dropout_rows(f, layout, config.rot_dropout_fraction)] = np.nan
    dead_thm5 = np.zeros(n, dtype=bool)
    dead_thm5[has_seq] = faults.choose(f, int(has_seq.sum()), config.thm5_missing_fraction)
    thm[dead_thm5[s], cs.THM_COLUMNS.index("thm_5")] = np.nan

    train = train_frame(
        layout, sequence_ids, subjects.ids[subj], gesture, orientation, phases.behavior_of_row,
        acc, rot, thm, tof, has_row,
    )
    return SimulatedData(train=train, demographics=subjects.table, sample_period_s=dt)


def _yaw(heading: np.ndarray) -> np.ndarray:
    """Quaternions of a turn about world up: the IMU's world frame has an arbitrary compass heading."""
    return kin.quat_exp(heading[:, None] * np.array([0.0, 0.0, 1.0]))


def _imu(
    rng: np.random.Generator,
    motion: Motion,
    layout: Layout,
    gravity_body: np.ndarray,
    q_world_from_body: np.ndarray,
    config: SimConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """Accelerometer (R, 3) and device→world quaternions (R, 4) with sensor noise.

    The accelerometer reads gravity plus the wrist's linear acceleration in the device frame; a
    world heading does not change it (gravity is along the yaw axis), so it is computed in the
    body frame. Each sequence also gets a small constant accelerometer bias (calibration)."""
    s = layout.seq_of_row
    lin_acc = kin.second_derivative(motion.wrist, layout, config.sample_period_s)
    acc = kin.specific_force(motion.rot_body, lin_acc, gravity_body[s])
    acc += rng.normal(0.0, config.acc_noise_m_s2, acc.shape) + rng.normal(0.0, 0.05, (len(layout.lengths), 3))[s]
    rot = kin.quat_mul(q_world_from_body[s], motion.q_body)
    rot += rng.normal(0.0, config.rot_noise, rot.shape)
    return acc, rot / np.linalg.norm(rot, axis=-1, keepdims=True)
