"""What goes wrong on a real wrist device, at the rates of SimConfig.

- IMU-only sequences: the proximity board is off, every thermopile and ToF cell is null.
- Quaternion dropouts: short bursts (1-5 rows) where the fusion output is missing (null).
- thm_5 missing: in some sensor-bearing sequences that one thermopile reads nothing (null).
- Quaternion hemisphere: q and -q are the same rotation; some IMUs report w >= 0, which flips the
  sign whenever w crosses zero, others keep a continuous sign that may start negative. Both
  occur in the data; the feature pipeline restores sign continuity.
(ToF "no return" pixels come from the ray casting and a random extra dropout, see sensors.py.)
"""

from __future__ import annotations

import numpy as np

from edgekit.data.simulator.timeline import Layout

MAX_BURST_ROWS = 5


def choose(rng: np.random.Generator, n: int, fraction: float) -> np.ndarray:
    """Bernoulli(fraction) per item (bool (n,))."""
    return rng.random(n) < fraction


def rot_dropout_rows(rng: np.random.Generator, layout: Layout, fraction: float) -> np.ndarray:
    """Bool (R,): rows whose quaternion is dropped, in bursts that never cross a sequence end."""
    mean_burst = (1 + MAX_BURST_ROWS) / 2
    starts = np.flatnonzero(rng.random(layout.n_rows) < fraction / mean_burst)
    burst = rng.integers(1, MAX_BURST_ROWS + 1, len(starts))
    seq_end = layout.offsets[layout.seq_of_row[starts]] + layout.lengths[layout.seq_of_row[starts]]
    ends = np.minimum(starts + burst, seq_end)
    # +1 at each burst start, -1 after its end; a positive running sum marks dropped rows
    marks = np.zeros(layout.n_rows + 1, dtype=np.int32)
    np.add.at(marks, starts, 1)
    np.add.at(marks, ends, -1)
    return np.cumsum(marks[:-1]) > 0


def quaternion_signs(rng: np.random.Generator, q: np.ndarray, layout: Layout, hemisphere_fraction: float) -> np.ndarray:
    """Quaternions with device-like signs: w >= 0 for a `hemisphere_fraction` of sequences,
    a random constant sign for the others."""
    n = len(layout.lengths)
    hemisphere = choose(rng, n, hemisphere_fraction)[layout.seq_of_row]
    constant_sign = np.where(rng.random(n) < 0.5, -1.0, 1.0)[layout.seq_of_row]
    sign = np.where(hemisphere, np.where(q[:, 0] < 0, -1.0, 1.0), constant_sign)
    return q * sign[:, None]
