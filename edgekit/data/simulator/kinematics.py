"""Rigid-body kinematics of the wrist device: quaternions, integration, accelerometer model.

Conventions (cmi_schema): quaternions are scalar-first (w, x, y, z) and rotate device-frame
vectors into the reference frame; body-frame (device-frame) angular velocity ω integrates as
q_{t+1} = q_t ⊗ exp(ω_t·dt/2). An accelerometer measures specific force in the device frame:
acc = R(q)^T (a_lin + g_up), g_up = [0, 0, 9.81] in world coordinates, so a still device reads
|acc| = 9.81 along the device-frame image of world up.

Arrays are (..., 4) for quaternions, (..., 3) for vectors, (..., 3, 3) for rotation matrices.
"""

from __future__ import annotations

import numpy as np

from edgekit.data import cmi_schema as cs
from edgekit.data.simulator.timeline import Layout

GRAVITY_UP = np.array([0.0, 0.0, cs.GRAVITY_M_S2])


def quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product a ⊗ b."""
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        axis=-1,
    )


def quat_conj(q: np.ndarray) -> np.ndarray:
    return q * np.array([1.0, -1.0, -1.0, -1.0])


def quat_exp(rotvec: np.ndarray) -> np.ndarray:
    """Unit quaternion of a rotation vector (axis * angle, radians)."""
    angle = np.linalg.norm(rotvec, axis=-1, keepdims=True)
    # sin(angle/2)/angle -> 1/2 as angle -> 0; the series keeps tiny increments exact
    small = angle < 1e-8
    scale = np.where(small, 0.5 - angle**2 / 48.0, np.sin(angle / 2.0) / np.where(small, 1.0, angle))
    return np.concatenate([np.cos(angle / 2.0), rotvec * scale], axis=-1)


def quat_to_rotvec(q: np.ndarray) -> np.ndarray:
    """Rotation vector of a unit quaternion, taking the shorter way round (angle in [0, π])."""
    q = np.where(q[..., :1] < 0, -q, q)
    vec = q[..., 1:]
    sin_half = np.linalg.norm(vec, axis=-1, keepdims=True)
    angle = 2.0 * np.arctan2(sin_half, q[..., :1])
    return vec * np.where(sin_half > 1e-12, angle / np.maximum(sin_half, 1e-12), 2.0)


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    w, x, y, z = np.moveaxis(q, -1, 0)
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], axis=-1),
            np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], axis=-1),
            np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], axis=-1),
        ],
        axis=-2,
    )


def matrix_to_quat(m: np.ndarray) -> np.ndarray:
    """Unit quaternion (w >= 0) of rotation matrices, robust for every angle."""
    # Build all four candidate forms and keep, per matrix, the one with the largest pivot
    # (Shepperd's method): it never divides by a small number.
    m00, m11, m22 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    d21, d02, d10 = m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0], m[..., 1, 0] - m[..., 0, 1]
    s01, s02, s12 = m[..., 0, 1] + m[..., 1, 0], m[..., 0, 2] + m[..., 2, 0], m[..., 1, 2] + m[..., 2, 1]
    pivots = np.stack([1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22], -1)
    candidates = np.stack(
        [
            np.stack([pivots[..., 0], d21, d02, d10], -1),
            np.stack([d21, pivots[..., 1], s01, s02], -1),
            np.stack([d02, s01, pivots[..., 2], s12], -1),
            np.stack([d10, s02, s12, pivots[..., 3]], -1),
        ],
        axis=-2,
    )
    best = np.argmax(pivots, axis=-1)
    q = np.take_along_axis(candidates, best[..., None, None], axis=-2)[..., 0, :]
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    return np.where(q[..., :1] < 0, -q, q)


def frame_from_axes(forearm: np.ndarray, face_hint: np.ndarray) -> np.ndarray:
    """Device→body rotation matrices whose device y is `forearm` and device z is as close to
    `face_hint` as orthogonality allows (device x = y × z: a right-handed frame)."""
    y = forearm / np.linalg.norm(forearm, axis=-1, keepdims=True)
    z = face_hint - np.sum(face_hint * y, axis=-1, keepdims=True) * y
    z = z / np.linalg.norm(z, axis=-1, keepdims=True)
    x = np.cross(y, z)
    return np.stack([x, y, z], axis=-1)  # columns are the device axes in body coordinates


def integrate_orientation(q0: np.ndarray, rotvec_steps: np.ndarray, layout: Layout) -> np.ndarray:
    """Packed orientations: row 0 of sequence i is q0[i]; row t+1 = row t ⊗ exp(rotvec_steps[row t]).

    `rotvec_steps` is the body-frame angular velocity times dt for each row (the last row's value
    is unused). Each step is renormalised so float round-off never drifts off the unit sphere.
    """
    dq = quat_exp(rotvec_steps)
    q = np.empty((layout.n_rows, 4))
    q[layout.offsets] = q0
    for prev in layout.steps():
        nxt = quat_mul(q[prev], dq[prev])
        q[prev + 1] = nxt / np.linalg.norm(nxt, axis=-1, keepdims=True)
    return q


def specific_force(rot: np.ndarray, lin_acc: np.ndarray, gravity_up: np.ndarray) -> np.ndarray:
    """What an ideal accelerometer reads: R^T (a_lin + g_up), all in the frame `rot` maps into."""
    return np.einsum("...ji,...j->...i", rot, lin_acc + gravity_up)


def second_derivative(x: np.ndarray, layout: Layout, dt: float) -> np.ndarray:
    """Central second difference of packed positions, never across a sequence boundary.

    The first and last row of a sequence copy their neighbour's value (sequences have >= 3 rows).
    """
    acc = np.zeros_like(x)
    acc[1:-1] = (x[2:] - 2.0 * x[1:-1] + x[:-2]) / (dt * dt)
    first, last = layout.edge_masks()
    acc[first] = acc[np.flatnonzero(first) + 1]
    acc[last] = acc[np.flatnonzero(last) - 1]
    return acc


def simulate_imu(
    omega_body: np.ndarray, lin_acc_world: np.ndarray, q0: np.ndarray, dt: float
) -> tuple[np.ndarray, np.ndarray]:
    """Noise-free IMU of one device: (quaternions (T, 4), accelerometer (T, 3)).

    A small entry point onto the same integration and accelerometer model the simulator uses, for
    checking the physics: `omega_body` (T, 3) rad/s in the device frame, `lin_acc_world` (T, 3)
    m/s² in the world frame, `q0` the starting device→world orientation.
    """
    omega_body = np.asarray(omega_body, dtype=np.float64)
    lin_acc_world = np.asarray(lin_acc_world, dtype=np.float64)
    layout = Layout.from_lengths(np.array([len(omega_body)]))
    q0 = np.asarray(q0, dtype=np.float64)
    q = integrate_orientation((q0 / np.linalg.norm(q0))[None], omega_body * dt, layout)
    return q, specific_force(quat_to_matrix(q), lin_acc_world, GRAVITY_UP)


def min_jerk(tau: np.ndarray) -> np.ndarray:
    """Minimum-jerk profile 0→1 on tau in [0, 1] (Flash & Hogan 1985): zero velocity and
    acceleration at both ends, so reaching movements start and stop smoothly."""
    tau = np.clip(tau, 0.0, 1.0)
    return tau**3 * (10.0 - 15.0 * tau + 6.0 * tau * tau)


def rotvec_to_matrix(rotvec: np.ndarray) -> np.ndarray:
    """Rotation matrices of rotation vectors (axis * angle, radians)."""
    return quat_to_matrix(quat_exp(rotvec))
