"""Proximity sensors: 5 thermopiles and 5 time-of-flight 8×8 imagers around the watch body.

Sensor k (1..5) carries a thermopile and a ToF imager looking the same way. Their axes, in the
device frame (x across the wrist towards the ulna of a right hand, y along the forearm towards
the hand, z out of the watch face):
  1: distal edge, looking along the forearm past the hand (what reaches the face first)
  2: the watch face, up and a little forward     4: proximal edge, up and towards the elbow
  3: ulnar side, forward and up                  5: radial side, the mirror image of 3
The layout is symmetric under the handedness mirror (device x -> -x): sensors 1, 2 and 4 map to
themselves with their image columns reversed, 3 and 5 map to each other (cmi_schema.MIRROR_*).

Every ToF pixel is a ray (45° field of view, row-major pixel v = 8*row + col, col growing
along the sensor's `right` axis) cast against the body blobs and the support surface under the
body; it returns the distance to the nearest hit in raw units (TOF_MM_PER_UNIT mm each, plus
noise) when that is within range (254) and the ray does not graze the surface, else -1 (no
return). A thermopile reads the room, plus the excess temperature of whatever each of its rays
meets (skin, clothing, room-temperature support), averaged over the field of view, through a
first-order thermal lag.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgekit.data import cmi_schema as cs
from edgekit.data.simulator import body
from edgekit.data.simulator.timeline import Layout

GRID = 8
FOV_DEG = 45.0
TOF_MAX_RAW = 254  # anything farther than TOF_MAX_RAW raw units reads as no return
TOF_MM_PER_UNIT = 4.0  # undocumented in the competition; 254 units ≈ 1 m
GRAZING_COS = 0.08  # rays meeting a surface flatter than ~85° off its normal return nothing
THERMAL_TAU_S = 0.4  # thermopile response time
CHUNK_ROWS = 1024  # rows ray-cast at a time: small enough for the (rows, 320) arrays to stay in cache


def _unit(v) -> np.ndarray:
    v = np.asarray(v, dtype=float)
    return v / np.linalg.norm(v)


def _sensor_frames() -> np.ndarray:
    """(5, 3, 3): per sensor its (axis, right, up) unit vectors in the device frame."""
    x = np.array([1.0, 0.0, 0.0])
    frames = {}
    for k, axis in ((1, (0.0, 0.85, 0.53)), (2, (0.0, 0.3, 0.95)), (4, (0.0, -0.5, 0.87))):
        a = _unit(axis)
        frames[k] = (a, x, np.cross(a, x))  # right = device x, so the mirror reverses columns
    a3 = _unit((0.75, 0.45, 0.48))
    r3 = _unit(np.cross([0.0, 0.0, 1.0], a3))
    frames[3] = (a3, r3, np.cross(a3, r3))
    # sensor 5 is sensor 3 seen in the mirror: reflected axis and up, reflected and reversed right
    mirror = np.diag([-1.0, 1.0, 1.0])
    (left, right), = cs.MIRROR_SENSOR_SWAP
    a, r, u = frames[left]
    frames[right] = (mirror @ a, -(mirror @ r), mirror @ u)
    return np.stack([np.stack(frames[k]) for k in range(1, cs.TOF_SENSORS + 1)])


def pixel_directions() -> np.ndarray:
    """(5, 64, 3) unit ray directions of every ToF pixel in the device frame."""
    frames = _sensor_frames()
    tan = np.tan(np.deg2rad((np.arange(GRID) - (GRID - 1) / 2) * FOV_DEG / GRID))
    rows, cols = np.meshgrid(tan, tan, indexing="ij")  # pixel v = 8*row + col
    rays = (
        frames[:, None, 0]
        + cols.reshape(1, -1, 1) * frames[:, None, 1]
        + rows.reshape(1, -1, 1) * frames[:, None, 2]
    )
    return rays / np.linalg.norm(rays, axis=-1, keepdims=True)


PIXEL_DIRS = pixel_directions()
SENSOR_AXES = _sensor_frames()[:, 0]
_RAYS = np.ascontiguousarray(PIXEL_DIRS.reshape(-1, 3).T, dtype=np.float32)  # (3, 320), column = tof column order


@dataclass(frozen=True)
class Readings:
    thm: np.ndarray  # (R_s, 5) float32 °C
    tof: np.ndarray  # (R_s, 320) int16, -1 = no return


def _cast_blobs(rot, wrist, centers, radii, excess):
    """Nearest-hit distance (rows, 320; metres, inf = miss), incidence cosine and thermal excess
    (°C above the room) of every pixel ray against the body blobs."""
    n = len(rot)
    dist = np.full((n, _RAYS.shape[1]), np.inf, dtype=np.float32)
    cos_inc = np.zeros_like(dist)
    heat = np.zeros_like(dist)
    # work buffers reused for every blob: this is the simulator's hot loop
    u_dot_e, root = np.empty_like(dist), np.empty_like(dist)
    hit, closer = np.empty(dist.shape, dtype=bool), np.empty(dist.shape, dtype=bool)
    for b in range(centers.shape[1]):
        # the device seen from the blob centre, in device coordinates: the rays are then constant
        e = np.einsum("nji,nj->ni", rot, wrist - centers[:, b]).astype(np.float32)
        r = radii[:, b].astype(np.float32)
        outside = np.maximum(np.einsum("ni,ni->n", e, e) - r * r, np.float32(0.0))  # 0: touching
        # ray p = e + d·u meets |p| = r at d = -(u·e) - sqrt((u·e)² - (|e|² - r²))
        np.matmul(e, _RAYS, out=u_dot_e)
        np.multiply(u_dot_e, u_dot_e, out=root)
        root -= outside[:, None]
        np.greater_equal(root, 0.0, out=hit)
        np.maximum(root, 0.0, out=root)
        np.sqrt(root, out=root)
        u_dot_e += root
        np.negative(u_dot_e, out=u_dot_e)  # now the distance d
        np.greater_equal(u_dot_e, 0.0, out=closer)
        hit &= closer
        np.less(u_dot_e, dist, out=closer)
        closer &= hit
        np.copyto(dist, u_dot_e, where=closer)
        root /= r[:, None]  # sqrt(disc) / r is the cosine of incidence on the sphere
        np.copyto(cos_inc, root, where=closer)
        np.copyto(heat, excess[:, b, None].astype(np.float32), where=closer)
    return dist, cos_inc, heat


def _cast_support(rot, wrist, up, floor, dist, cos_inc, heat) -> None:
    """Let every ray also meet the support surface under the body (seat or bed): a
    room-temperature plane at height `floor` along the body-frame `up` (in place)."""
    height = (np.einsum("ni,ni->n", wrist, up) - floor).astype(np.float32)
    up_dev = np.einsum("nji,nj->ni", rot, up).astype(np.float32)
    cos_down = -(up_dev @ _RAYS)  # (rows, 320)
    d = height[:, None] / np.maximum(cos_down, 1e-3)
    closer = (cos_down > 1e-3) & (height[:, None] > 0) & (d < dist)
    np.copyto(dist, d, where=closer)
    np.copyto(cos_inc, cos_down, where=closer)
    np.copyto(heat, 0.0, where=closer)


def _quantise(
    rng: np.random.Generator, dist: np.ndarray, cos_inc: np.ndarray, noise_mm: float, dropout: float
) -> np.ndarray:
    """Raw ToF values (int16): noisy distance in raw units, -1 when out of range, grazing or
    dropped out."""
    mm = dist * np.float32(1000.0)  # a miss stays inf and fails the range test below
    # ranging noise grows with distance: 2 % on top of a floor of noise_mm
    noise = rng.standard_normal(mm.shape, dtype=np.float32)
    with np.errstate(invalid="ignore"):  # a miss may become NaN (inf * 0, inf - inf): out of range too
        noise *= np.float32(noise_mm) + np.float32(0.02) * mm
        mm += noise
    mm *= np.float32(1.0 / TOF_MM_PER_UNIT)
    valid = mm <= TOF_MAX_RAW
    valid &= cos_inc > GRAZING_COS
    if dropout > 0:
        valid &= rng.random(mm.shape, dtype=np.float32) >= dropout
    np.clip(mm, 0, TOF_MAX_RAW, out=mm)
    np.rint(mm, out=mm)
    return np.where(valid, mm, np.float32(cs.TOF_NO_RETURN)).astype(np.int16)


def _thermal_lag(x: np.ndarray, layout: Layout, dt: float) -> np.ndarray:
    """First-order low-pass per sequence (starts settled at its first sample)."""
    alpha = dt / (THERMAL_TAU_S + dt)
    y = x.copy()
    for prev in layout.steps():
        y[prev + 1] = y[prev] + alpha * (x[prev + 1] - y[prev])
    return y


def simulate_sensors(
    rng: np.random.Generator,
    layout: Layout,
    rot_body: np.ndarray,
    wrist: np.ndarray,
    blob_centers: np.ndarray,
    blob_radii: np.ndarray,
    up_body: np.ndarray,
    skin_c: np.ndarray,
    dt: float,
    tof_noise_mm: float,
    thm_noise_c: float,
    tof_pixel_dropout: float,
) -> Readings:
    """Sensor readings for the rows of `layout` (the sensor-bearing sequences only).

    `blob_centers` (N, B, 3), `blob_radii` (N, B), `up_body` (N, 3: world up in the body frame)
    and `skin_c` (N,) are per sequence of `layout`;
    `rot_body`/`wrist` per row.
    """
    n_seq = len(layout.lengths)
    # the support surface touches the body's lowest point (a seated subject's thighs on the seat,
    # a lying subject's back or side on the bed)
    lowest = np.min(np.einsum("nbi,ni->nb", blob_centers, up_body) - blob_radii, axis=1)
    floor = lowest - 0.02
    ambient = rng.uniform(22.0, 27.0, n_seq)
    skin = np.array([b.skin for b in body.BLOBS])
    excess = np.where(skin[None], (skin_c - ambient)[:, None], body.CLOTHED_EXCESS_C)  # (N, B)
    s = layout.seq_of_row
    thm_raw = np.empty((layout.n_rows, cs.TOF_SENSORS))
    tof = np.empty((layout.n_rows, cs.TOF_SENSORS * GRID * GRID), dtype=np.int16)
    for lo in range(0, layout.n_rows, CHUNK_ROWS):
        sl = slice(lo, min(lo + CHUNK_ROWS, layout.n_rows))
        seq = s[sl]
        dist, cos_inc, heat = _cast_blobs(rot_body[sl], wrist[sl], blob_centers[seq], blob_radii[seq], excess[seq])
        _cast_support(rot_body[sl], wrist[sl], up_body[seq], floor[seq], dist, cos_inc, heat)
        thm_raw[sl] = ambient[seq][:, None] + heat.reshape(len(heat), cs.TOF_SENSORS, -1).mean(axis=-1)
        tof[sl] = _quantise(rng, dist, cos_inc, tof_noise_mm, tof_pixel_dropout)
    # per-sequence calibration offset of each thermopile, lag, then white noise
    offsets = rng.normal(0.0, 0.3, (n_seq, cs.TOF_SENSORS))
    thm = _thermal_lag(thm_raw + offsets[s], layout, dt) + rng.normal(0.0, thm_noise_c, thm_raw.shape)
    return Readings(thm.astype(np.float32), tof)
