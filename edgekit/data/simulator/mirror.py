"""The handedness mirror: turn a right-wrist recording into the left-wrist recording of the
mirror-image motion (and back: the mirror is its own inverse).

Reflecting the world across the body's sagittal plane (a vertical plane, so gravity is unchanged)
maps a right-handed subject onto a left-handed one. Its effect on what the watch records is in
cmi_schema: acc x negated, quaternion y and z negated, thermopile/ToF sensors 3 and 5 swapped and
every ToF image flipped left-right. The simulator always simulates the right hand and mirrors
left-handed subjects' rows afterwards, so left-handed data is physically the mirror motion.
"""

from __future__ import annotations

import numpy as np

from edgekit.data import cmi_schema as cs

_SENSOR_ORDER = np.arange(cs.TOF_SENSORS)
for _a, _b in cs.MIRROR_SENSOR_SWAP:
    _SENSOR_ORDER[[_a - 1, _b - 1]] = _SENSOR_ORDER[[_b - 1, _a - 1]]
_GRID = int(round(cs.TOF_PIXELS**0.5))


def mirror_imu(acc: np.ndarray, rot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mirrored accelerometer (..., 3) and quaternions (..., 4)."""
    return acc * np.asarray(cs.MIRROR_ACC_SIGN, acc.dtype), rot * np.asarray(cs.MIRROR_ROT_SIGN, rot.dtype)


def mirror_thm(thm: np.ndarray) -> np.ndarray:
    """Mirrored thermopiles (..., 5): the mirrored sensor pairs swap."""
    return thm[..., _SENSOR_ORDER]


def mirror_tof(tof: np.ndarray) -> np.ndarray:
    """Mirrored ToF (..., 320): the sensor pairs swap and each 8×8 image reverses its columns."""
    images = tof.reshape(*tof.shape[:-1], cs.TOF_SENSORS, _GRID, _GRID)
    return images[..., _SENSOR_ORDER, :, ::-1].reshape(tof.shape)
