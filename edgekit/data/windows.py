"""Fixed-length views of variable-length sequences: crop/pad to a length, or slide windows.

Two ways to feed a fixed-size model input:
- `crop_or_pad`: one row per sequence, right-padded with a validity mask. `keep="last"` keeps the
  last L samples of a longer sequence (CMI: the gesture is performed at the end of each
  sequence, after the transition), `keep="first"` the first L.
- `sliding_windows`: long continuous recordings cut into overlapping windows (UCI-HAR style:
  128 samples, hop 64); each window becomes a sequence of a new `SequenceDataset` with the
  recording's label, subject and extras, so folds still group by subject.
"""

from __future__ import annotations

from typing import Literal, Sequence

import numpy as np

from edgekit.data.dataset import SequenceDataset
from edgekit.errors import EdgekitError

Keep = Literal["last", "first"]
KEEP_CHOICES: tuple[str, ...] = ("last", "first")


def crop_or_pad(sequences: Sequence[np.ndarray], length: int, keep: Keep = "last",
                fill: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """`(N, length, C)` float32 right-padded with `fill`, and the `(N, length)` bool mask."""
    if length < 1:
        raise EdgekitError(f"window length {length}; expected a positive number of samples")
    if keep not in KEEP_CHOICES:
        raise EdgekitError(f"keep={keep!r}; expected one of {list(KEEP_CHOICES)}")
    n = len(sequences)
    c = sequences[0].shape[1] if n else 0
    x = np.full((n, length, c), fill, dtype=np.float32)
    mask = np.zeros((n, length), dtype=bool)
    for i, seq in enumerate(sequences):
        part = seq[-length:] if keep == "last" else seq[:length]
        x[i, : len(part)] = part
        mask[i, : len(part)] = True
    return x, mask


def sliding_windows(ds: SequenceDataset, window: int, hop: int, *, drop_short: bool = True) -> SequenceDataset:
    """Each sequence cut into windows of `window` samples every `hop`; a sequence shorter than
    `window` is dropped (or kept whole with `drop_short=False`)."""
    if window < 1 or hop < 1:
        raise EdgekitError(f"sliding window {window} / hop {hop}; expected positive sample counts")
    pieces, owners, ids = [], [], []
    for i, seq in enumerate(ds.sequences):
        starts = range(0, len(seq) - window + 1, hop)
        if not len(starts) and not drop_short:
            starts = range(1)
        for s in starts:
            pieces.append(seq[s : s + window])
            owners.append(i)
            ids.append(f"{ds.sequence_ids[i]}_w{s}")
    if not pieces:
        raise EdgekitError(f"{ds.name}: no sequence is at least {window} samples long; lower the window length")
    idx = np.asarray(owners, dtype=np.int64)
    # per-sample extras (object arrays of arrays) no longer line up with the windows: drop them
    extras = {k: v[idx] for k, v in ds.extras.items() if v.dtype != object}
    return SequenceDataset(
        sequences=pieces, channels=ds.channels, units=ds.units, sample_period_s=ds.sample_period_s,
        labels=ds.labels[idx], class_names=ds.class_names, subjects=ds.subjects[idx],
        sequence_ids=np.asarray(ids), demographics=ds.demographics, extras=extras, name=f"{ds.name}:windows",
    )
