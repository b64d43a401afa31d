"""The subject's body: landmark spheres in the body frame and the four recording postures.

Body frame (of a right-handed subject, seated straight): origin at the sternum, x to the subject's
right, y forward, z up; metres, for a 1.70 m subject (scaled by height). The body is a handful
of spheres ("blobs"), enough for the proximity sensors to see a head, a neck, a torso, the
thighs and the resting other hand with the right distances and curvature, and cheap to ray-cast.

A posture is a rotation of the whole body frame relative to the world (z up), so the same arm
motion meets gravity at a different angle: that is what `orientation` changes in the data. The
body keeps its seated shape in every posture (a simplification: a lying subject's thighs stay
bent), and a support surface (seat or bed, sensors.py) touches its lowest point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgekit.data import cmi_schema as cs
from edgekit.data.simulator.kinematics import quat_exp, quat_mul, quat_to_matrix

REFERENCE_HEIGHT_M = 1.70


@dataclass(frozen=True)
class Blob:
    name: str
    center: tuple[float, float, float]
    radius: float
    skin: bool  # bare skin (reads skin temperature) or clothed (a few degrees above ambient)


BLOBS: tuple[Blob, ...] = (
    Blob("head", (0.0, 0.02, 0.40), 0.10, skin=True),
    Blob("neck", (0.0, 0.0, 0.25), 0.055, skin=True),
    Blob("torso", (0.0, -0.06, -0.05), 0.17, skin=False),
    Blob("thigh", (0.10, 0.28, -0.32), 0.09, skin=False),  # the dominant thigh, seated
    Blob("other_thigh", (-0.10, 0.28, -0.32), 0.09, skin=False),
    Blob("other_hand", (-0.10, 0.30, -0.19), 0.05, skin=True),  # resting on the other thigh
)
BLOB_INDEX = {b.name: i for i, b in enumerate(BLOBS)}
CLOTHED_EXCESS_C = 3.0  # clothing over skin reads a few degrees above the room


def blob_geometry(height_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-subject blob centres (S, B, 3) and radii (S, B), scaled with height."""
    scale = (np.asarray(height_m) / REFERENCE_HEIGHT_M)[:, None]
    centers = np.array([b.center for b in BLOBS])[None] * scale[..., None]
    radii = np.array([b.radius for b in BLOBS])[None] * scale
    return centers, radii


def _rot(axis: tuple[float, float, float], degrees: float) -> np.ndarray:
    return quat_exp(np.deg2rad(degrees) * np.asarray(axis, dtype=float))


# Nominal body→world rotation per posture (cmi_schema.ORIENTATIONS order), for a right-handed
# subject whose non-dominant side is the left (-x).
POSTURE_QUATS: dict[str, np.ndarray] = {
    "Seated Straight": _rot((1, 0, 0), 0.0),
    # lean over to the left (head towards -x) and bow the face down (head towards +y)
    "Seated Lean Non Dom - FACE DOWN": quat_mul(_rot((0, 1, 0), -30.0), _rot((1, 0, 0), -60.0)),
    # body forward (+y) points up, the head lies along the world -y
    "Lie on Back": _rot((1, 0, 0), 90.0),
    # body right (+x) points up: lying on the left side
    "Lie on Side - Non Dominant": _rot((0, 1, 0), -90.0),
}
assert tuple(POSTURE_QUATS) == cs.ORIENTATIONS


def posture_quats(rng: np.random.Generator, orientation: np.ndarray, variability: float) -> np.ndarray:
    """Body→world quaternions (N, 4) for orientation indices, each jittered by ~5° (nobody lies
    or sits exactly the same way twice)."""
    nominal = np.stack(list(POSTURE_QUATS.values()))[orientation]
    jitter = quat_exp(variability * rng.normal(0.0, np.deg2rad(5.0), (len(orientation), 3)))
    return quat_mul(nominal, jitter)


def posture_gravity(q_posture: np.ndarray) -> np.ndarray:
    """World up-gravity [0, 0, 9.81] expressed in each body frame (N, 3)."""
    return quat_to_matrix(q_posture)[..., 2, :] * cs.GRAVITY_M_S2
