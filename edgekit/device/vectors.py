"""Vector files for the device check program (`firmware_bridge/model/ek_device_main.c`).

Little-endian: a 20-byte header (magic "EKDV", mode, record count, input floats and expected
floats per record), then per record: flags (bit 0: reset the bridge and model first; bit 1 with it:
a left-handed wearer's sequence), an expected
class (pipeline mode; 0xFFFFFFFF = none), the inputs, the expected floats (model mode: logits).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgekit.io import atomic_path

MAGIC = 0x56444B45
MODEL, PIPELINE, FUZZ = 1, 2, 3
RESET = 1
LEFT_HANDED = 2  # with RESET: the sequence is mirrored by the bridge
NO_CLASS = 0xFFFFFFFF


def write_vectors(path: str | Path, mode: int, inputs: np.ndarray, expected: np.ndarray | None = None,
                  resets: np.ndarray | None = None, classes: np.ndarray | None = None,
                  left_handed: np.ndarray | None = None) -> Path:
    """`inputs` (N, n_in) float32; `expected` (N, n_out) float32 logits (model mode); `resets` (N,)
    bool; `classes` (N,) int (-1: no expectation); `left_handed` (N,) bool, read at resets."""
    x = np.ascontiguousarray(inputs, np.float32).reshape(len(inputs), -1)
    n = len(x)
    exp = np.zeros((n, 0), np.float32) if expected is None else \
        np.ascontiguousarray(expected, np.float32).reshape(n, -1)
    flags = np.zeros(n, np.uint32) if resets is None else np.asarray(resets, bool).astype(np.uint32) * RESET
    if left_handed is not None:
        flags |= np.asarray(left_handed, bool).astype(np.uint32) * LEFT_HANDED
    cls = np.full(n, NO_CLASS, np.uint32) if classes is None else \
        np.where(np.asarray(classes) < 0, NO_CLASS, np.asarray(classes)).astype(np.uint32)
    record = np.dtype([("flags", "<u4"), ("cls", "<u4"), ("x", "<f4", (x.shape[1],)), ("y", "<f4", (exp.shape[1],))])
    rows = np.zeros(n, record)
    rows["flags"], rows["cls"], rows["x"] = flags, cls, x
    if exp.shape[1]:
        rows["y"] = exp
    header = np.array([MAGIC, mode, n, x.shape[1], exp.shape[1]], "<u4")
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(header.tobytes() + rows.tobytes())
    return Path(path)


def synthetic_samples(columns: tuple[str, ...], n: int, seed: int = 0) -> np.ndarray:
    """(n, len(columns)) plausible raw sensor samples by column role (acc in m/s^2 around gravity,
    unit quaternions, rad/s, degC, ToF pixels 0..254 or -1): inputs for timing and fuzzing."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, len(columns))).astype(np.float32)
    cols = list(columns)
    rot = [i for i, c in enumerate(cols) if c.startswith("rot_")]
    for i, c in enumerate(cols):
        if c.startswith("acc_"):
            x[:, i] = 2.0 * x[:, i] + (9.81 if c.endswith("z") else 0.0)
        elif c.startswith("thm_"):
            x[:, i] = 25.0 + 2.0 * x[:, i]
        elif c.startswith("tof_"):
            x[:, i] = rng.integers(-1, 255, n)
    if len(rot) == 4:
        q = x[:, rot].astype(np.float64)
        x[:, rot] = (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)
    return x


def fuzz_samples(columns: tuple[str, ...], n: int, seed: int = 0) -> np.ndarray:
    """Synthetic samples where a random tenth of the values are NaN, +-Inf, huge, tiny or random
    bit patterns: what a broken sensor or driver can hand the bridge."""
    rng = np.random.default_rng(seed)
    x = synthetic_samples(columns, n, seed)
    hit = rng.random(x.shape) < 0.1
    specials = np.array([np.nan, np.inf, -np.inf, 3.4e38, -3.4e38, 1e-40, 0.0, -0.0], np.float32)
    x[hit] = specials[rng.integers(0, len(specials), int(hit.sum()))]
    bits = rng.random(x.shape) < 0.02
    x[bits] = rng.integers(0, 2 ** 32, int(bits.sum()), dtype=np.uint64).astype(np.uint32).view(np.float32)
    x[n // 2: n // 2 + 8] = np.nan  # a whole burst of missing samples
    return x
