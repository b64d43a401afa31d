"""Raw-feature windows for calibration, parity and accuracy reports (torch-free).

`Windows` holds each window's real samples only, `(T_i, C)` raw (unnormalised) features, and its
label. The exported window graph takes no mask (its time axis is dynamic), so windows are fed in
batches of equal length (`batches`): a padded window would show its padding to the model as data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from edgekit.errors import EdgekitError


@dataclass
class Windows:
    sequences: list[np.ndarray]  # (T_i, C) float32 raw features, real samples only
    labels: np.ndarray  # (N,) int64 class index; -1 = unlabelled

    def __post_init__(self) -> None:
        self.sequences = [np.ascontiguousarray(s, dtype=np.float32) for s in self.sequences]
        self.labels = np.asarray(self.labels, dtype=np.int64)
        if len(self.sequences) != len(self.labels):
            raise EdgekitError(f"{len(self.sequences)} windows but {len(self.labels)} labels")
        if len({s.shape[1] for s in self.sequences}) > 1:
            raise EdgekitError("windows differ in their number of channels")

    def __len__(self) -> int:
        return len(self.sequences)

    @property
    def channels(self) -> int:
        return self.sequences[0].shape[1] if self.sequences else 0

    @classmethod
    def from_padded(cls, x: np.ndarray, labels: np.ndarray, mask: np.ndarray | None = None) -> "Windows":
        """From `(N, T, C)` windows and a `(N, T)` bool mask (True on real samples; None = all real)."""
        x = np.asarray(x, dtype=np.float32)
        if mask is None:
            return cls(list(x), labels)
        mask = np.asarray(mask, dtype=bool)
        return cls([xi[mi] for xi, mi in zip(x, mask)], labels)

    def subset(self, n: int | None, seed: int = 0) -> "Windows":
        """At most `n` windows, drawn without replacement (stable for a seed); all when n is None."""
        if n is None or n >= len(self):
            return self
        pick = np.sort(np.random.default_rng(seed).choice(len(self), size=n, replace=False))
        return Windows([self.sequences[i] for i in pick], self.labels[pick])

    def common_length(self) -> "Windows":
        """Every window cropped to its last L samples, L the median length; shorter ones dropped.

        onnxruntime's histogram calibrators (Entropy, Percentile) stack each tensor over all
        calibration batches, so every batch must have the same shape."""
        if not len(self):
            return self
        length = int(np.median([len(s) for s in self.sequences]))
        keep = [i for i, s in enumerate(self.sequences) if len(s) >= length]
        return Windows([self.sequences[i][-length:] for i in keep], self.labels[keep])

    def batches(self, batch_size: int = 64) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """`(indices, (B, T, C) array)` batches of equal-length windows, in a stable order."""
        lengths = np.array([len(s) for s in self.sequences])
        for length in np.unique(lengths):
            idx = np.flatnonzero(lengths == length)
            for start in range(0, len(idx), batch_size):
                chunk = idx[start:start + batch_size]
                yield chunk, np.stack([self.sequences[i] for i in chunk])

    def padded_right(self) -> tuple[np.ndarray, np.ndarray]:
        """`(N, T_max, C)` right-padded windows and their `(N, T_max)` mask, as the trainer lays them out."""
        t_max = max(len(s) for s in self.sequences)
        x = np.zeros((len(self), t_max, self.channels), dtype=np.float32)
        mask = np.zeros((len(self), t_max), dtype=bool)
        for i, s in enumerate(self.sequences):
            x[i, : len(s)], mask[i, : len(s)] = s, True
        return x, mask


def run_windows(predict, windows: Windows, batch_size: int = 64) -> np.ndarray:
    """`(N, K)` logits of `predict((B, T, C) array) -> (B, K)` over every window, in window order."""
    out: np.ndarray | None = None
    for idx, batch in windows.batches(batch_size):
        logits = np.asarray(predict(batch))
        if out is None:
            out = np.zeros((len(windows), logits.shape[-1]), dtype=np.float32)
        out[idx] = logits
    return out if out is not None else np.zeros((0, 0), dtype=np.float32)
