"""From gesture programs to device motion: orientation, wrist trajectory and accelerometer.

The arm is an elbow point plus a rigid forearm with the watch at its end:
wrist(t) = elbow(t) + forearm_length · y_dev(t), where y_dev is the forearm axis of the
integrated orientation. So every forearm rotation moves the wrist the way it would on a real
arm, and the accelerometer's linear part is the second derivative of that wrist path.

Orientation comes only from integrating body-frame angular velocity (kinematics.py):
- reaching: a rotation from the rest pose to the target pose about one device-frame axis, with a
  minimum-jerk angle profile;
- the gesture: the program's waveform about its device axis;
- physiological tremor (6-11 Hz, per-subject amplitude) on all three axes.
The elbow follows a minimum-jerk path from rest to target plus the gesture's arm displacement
and a slow postural sway. At the target the forearm may roll so that a chosen proximity sensor
faces the skin (Gesture.facing_sensor); every pose carries the subject's style and some jitter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgekit.data.simulator import body, kinematics as kin
from edgekit.data.simulator.gestures import DEVICE_X, DEVICE_Z, GESTURE_PROGRAMS, REST, WAVEFORMS, Gesture
from edgekit.data.simulator.sensors import SENSOR_AXES
from edgekit.data.simulator.subjects import Subjects
from edgekit.data.simulator.timeline import Layout, Phases

UP = np.array([0.0, 0.0, 1.0])
RAMP_S = 0.25  # oscillations fade in over this long so the acceleration stays continuous
PULL_OUT_M = 0.10  # "Feel around in tray": the final lift of the found object


@dataclass(frozen=True)
class Motion:
    q_body: np.ndarray  # (R, 4) device→body orientation
    rot_body: np.ndarray  # (R, 3, 3) the same as matrices
    wrist: np.ndarray  # (R, 3) device position in the body frame, metres


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _pose(
    rng: np.random.Generator, program: list[Gesture], subj: np.ndarray, subjects: Subjects, v: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-sequence (device→body rotation, elbow, contact normal) for one program per sequence,
    with subject style and sequence jitter."""
    n = len(program)
    scale = (subjects.height_m / body.REFERENCE_HEIGHT_M)[subj][:, None]
    centers, radii = body.blob_geometry(subjects.height_m)
    normal = _unit(np.array([g.contact for g in program]))
    wobble = kin.rotvec_to_matrix(v * rng.normal(0, np.deg2rad(4.0), (n, 3)))
    normal = _unit(np.einsum("nij,nj->ni", wobble, normal))
    elbow = np.array([g.elbow for g in program]) * scale + v * rng.normal(0.0, 0.02, (n, 3))
    is_air = np.array([g.site == "air" for g in program])
    blob = np.array([body.BLOB_INDEX.get(g.site, 0) for g in program])
    on_blob = centers[subj, blob] + radii[subj, blob][:, None] * normal
    in_air = np.array([g.contact for g in program]) * scale + v * rng.normal(0.0, 0.02, (n, 3))
    contact = np.where(is_air[:, None], in_air, on_blob)
    forearm_dir = _unit(contact - elbow)
    normal = np.where(is_air[:, None], -forearm_dir, normal)
    rot = kin.frame_from_axes(forearm_dir, np.array([g.watch_face for g in program]))
    standoff = np.array([g.standoff_m for g in program])[:, None]
    wrist = contact + standoff * normal - subjects.hand_m[subj][:, None] * forearm_dir
    facing = np.array([g.facing_sensor for g in program])
    aimed = facing > 0
    if aimed.any():
        towards_blob = _unit(centers[subj, blob] - wrist)
        rot[aimed] = _aim(rot[aimed], SENSOR_AXES[facing[aimed] - 1], towards_blob[aimed])
    tilt = subjects.style[subj] + v * rng.normal(0.0, np.deg2rad(4.5), (n, 3))
    rot = rot @ kin.rotvec_to_matrix(tilt)
    wrist = contact + standoff * normal - subjects.hand_m[subj][:, None] * rot[:, :, 1]
    elbow = wrist - subjects.forearm_m[subj][:, None] * rot[:, :, 1]
    return rot, elbow, normal


# candidate forearm rolls, every 5°
_ROLLS = kin.rotvec_to_matrix(np.linspace(0, 2 * np.pi, 72, endpoint=False)[:, None] * np.array([0.0, 1.0, 0.0]))


def _aim(rot: np.ndarray, sensor_axis: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Roll each forearm about its own axis (device y) so that `sensor_axis` (device frame)
    points as close to `target` (body frame) as the forearm direction allows."""
    axes_body = np.einsum("nij,rjk,nk->nri", rot, _ROLLS, sensor_axis)  # (N, rolls, 3)
    best = np.argmax(np.einsum("nri,ni->nr", axes_body, target), axis=1)
    return rot @ _ROLLS[best]


def _directions(word_or_vec: list, normal: np.ndarray) -> np.ndarray:
    """Per-sequence unit displacement directions from gestures.DIRECTION_WORDS or vectors."""
    tangent = np.cross(normal, UP)
    vertical = np.linalg.norm(tangent, axis=-1, keepdims=True) < 1e-3
    tangent = np.where(vertical, np.cross(normal, [0.0, 1.0, 0.0]), tangent)
    named = {"normal": normal, "tangent": _unit(tangent), "up": np.broadcast_to(UP, normal.shape)}
    out = np.empty_like(normal)
    for i, d in enumerate(word_or_vec):
        out[i] = named[d][i] if isinstance(d, str) else np.asarray(d) / np.linalg.norm(d)
    return out


def _waveforms(kind: np.ndarray, u: np.ndarray, f: np.ndarray, ph: np.ndarray, ratio: np.ndarray, dur: np.ndarray):
    """Per-row components (c1, c2, lift) of each sequence's waveform at gesture time u >= 0.

    Every waveform is 0 at u = 0, so clipping u at 0 before the gesture starts keeps it still."""
    ramp = kin.min_jerk(u / RAMP_S)
    w1 = 2 * np.pi * f * u + ph[:, 0]
    w2 = 2 * np.pi * ratio * f * u + ph[:, 1]
    sine = ramp * np.sin(w1)
    second = ramp * np.sin(w2)
    code = {name: i for i, name in enumerate(WAVEFORMS)}
    c1 = np.select(
        [kind == code["sine"], kind == code["pulls"], kind == code["hump"], kind == code["jitter"]],
        [sine, ((1 - np.cos(2 * np.pi * f * u)) / 2) ** 2, np.sin(np.pi * np.clip(u / dur, 0, 1)) ** 2,
         (sine + 0.6 * second) / 1.6],
        default=sine,  # lissajous and explore
    )
    two_d = (kind == code["lissajous"]) | (kind == code["explore"])
    c2 = np.where(two_d, second, 0.0)
    lift = np.where(kind == code["explore"], kin.min_jerk((u / dur - 0.7) / 0.3), 0.0)
    return c1, c2, lift


def simulate_motion(
    rng: np.random.Generator,
    layout: Layout,
    phases: Phases,
    gesture: np.ndarray,
    subj: np.ndarray,
    subjects: Subjects,
    dt: float,
    variability: float,
) -> Motion:
    n = len(gesture)
    v = variability
    programs = [GESTURE_PROGRAMS[g] for g in gesture]
    rot_target, elbow_target, normal = _pose(rng, programs, subj, subjects, v)
    rot_lap, elbow_lap, _ = _pose(rng, [REST] * n, subj, subjects, v)
    # Sequences are cut from longer recordings: the hand starts somewhere between the lap and the
    # target (at 50 Hz and ~1.4 s per sequence, a full lap-to-face reach would be implausibly fast).
    head_start = rng.uniform(0.2, 0.5, n)
    q_lap = kin.matrix_to_quat(rot_lap)
    lap_to_target = kin.quat_to_rotvec(kin.quat_mul(kin.quat_conj(q_lap), kin.matrix_to_quat(rot_target)))
    q_rest = kin.quat_mul(q_lap, kin.quat_exp(head_start[:, None] * lap_to_target))
    elbow_rest = elbow_lap + head_start[:, None] * (elbow_target - elbow_lap)
    reach = (1.0 - head_start)[:, None] * lap_to_target

    # per-sequence gesture parameters
    speed = subjects.speed[subj] * np.exp(v * rng.normal(0.0, 0.07, n))
    amp = subjects.amplitude[subj] * np.exp(v * rng.normal(0.0, 0.13, n))
    lo, hi = np.array([g.freq_hz for g in programs]).T
    freq = rng.uniform(lo, hi) * speed
    phase0 = rng.uniform(0, 2 * np.pi, (n, 2))
    ratio = rng.uniform(1.3, 1.7, n)
    kind = np.array([WAVEFORMS.index(g.waveform) for g in programs])
    angle = np.deg2rad([g.angle_deg for g in programs]) * amp
    axis1 = np.array([g.angle_axis for g in programs])
    axis2 = np.where((axis1 == DEVICE_X).all(-1, keepdims=True), DEVICE_Z, DEVICE_X)
    disp = np.array([g.disp_m for g in programs]) * amp
    dir1 = _directions([g.disp_dir for g in programs], normal)
    dir2 = _unit(np.cross(dir1, np.where(np.abs(dir1 @ UP)[:, None] > 0.9, [0.0, 1.0, 0.0], UP)))

    s, t = layout.seq_of_row, layout.t_of_row
    start = phases.gesture_start()[s]
    duration = np.maximum(layout.lengths - phases.gesture_start(), 1)[s] * dt
    u_now = np.maximum(t - start, 0) * dt
    u_next = np.maximum(t + 1 - start, 0) * dt
    wave = (freq[s], phase0[s], ratio[s], duration)
    c1, c2, lift = _waveforms(kind[s], u_now, *wave)
    c1_next, c2_next, _ = _waveforms(kind[s], u_next, *wave)

    # angular increments (rotation vector per step, device frame)
    tau_now = kin.min_jerk(t / phases.move_rows[s])
    tau_next = kin.min_jerk((t + 1) / phases.move_rows[s])
    steps = reach[s] * (tau_next - tau_now)[:, None]
    steps += angle[s][:, None] * ((c1_next - c1)[:, None] * axis1[s] + 0.6 * (c2_next - c2)[:, None] * axis2[s])
    steps += _tremor(rng, layout, subjects.tremor[subj], v, dt) * dt

    q_body = kin.integrate_orientation(q_rest, steps, layout)
    rot_body = kin.quat_to_matrix(q_body)
    elbow = elbow_rest[s] + (elbow_target - elbow_rest)[s] * tau_now[:, None]
    elbow += disp[s][:, None] * (c1[:, None] * dir1[s] + c2[:, None] * dir2[s])
    elbow += (PULL_OUT_M * lift)[:, None] * UP
    elbow += _sway(rng, layout, v, dt)
    wrist = elbow + subjects.forearm_m[subj][s][:, None] * rot_body[:, :, 1]
    return Motion(q_body, rot_body, wrist)


def _smooth_noise(rng: np.random.Generator, layout: Layout, freq: tuple[float, float], dt: float) -> np.ndarray:
    """Unit-amplitude band-limited noise (R, 3): two sinusoids per axis with random frequency and
    phase per sequence, smooth at any sampling."""
    n = len(layout.lengths)
    f = rng.uniform(*freq, (n, 2, 3))
    ph = rng.uniform(0, 2 * np.pi, (n, 2, 3))
    time = layout.t_of_row[:, None] * dt
    s = layout.seq_of_row
    return (np.sin(2 * np.pi * f[s, 0] * time + ph[s, 0]) + np.sin(2 * np.pi * f[s, 1] * time + ph[s, 1])) / 2


def _tremor(rng: np.random.Generator, layout: Layout, amplitude: np.ndarray, v: float, dt: float) -> np.ndarray:
    """Physiological tremor, rad/s (R, 3)."""
    return (0.3 + v) * amplitude[layout.seq_of_row][:, None] * _smooth_noise(rng, layout, (6.0, 11.0), dt)


def _sway(rng: np.random.Generator, layout: Layout, v: float, dt: float) -> np.ndarray:
    """Slow postural drift of the arm, metres (R, 3)."""
    return (0.002 + 0.004 * v) * _smooth_noise(rng, layout, (0.15, 0.6), dt)
