"""From feature sequences to model batches: scaler, fixed-length padding, the torch Dataset and
length-grouped batching.

Layout: every sequence becomes one row of `(N, L, C)` float32, right-padded, with a `(N, L)`
bool mask (True on real samples); all models take `(B, T, C)` + mask. A batch is cut to its
longest real sequence, so grouping similar lengths (`length_grouped`) saves the padded compute.

Normalisation is a per-channel `Scaler` (mean/std) fit on the training sequences only and
applied before the model; it is saved to `scaler.json` and the exporter folds it into the graph
(the device feeds raw bridge features). Padded positions stay exactly 0 after scaling. A run with
per-sequence demographics keeps their own `Scaler` in `Scaler.demographics` (`demographics.py`),
and `Arrays.demographics` `(N, D)` rides in batches beside the mask.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np
import torch

from edgekit.data.windows import Keep, crop_or_pad
from edgekit.errors import EdgekitError
from edgekit.io import write_json_atomic

STD_FLOOR = 1e-6  # a constant channel (e.g. a dead sensor) is centred, not blown up


@dataclass(frozen=True)
class Scaler:
    channels: tuple[str, ...]
    mean: np.ndarray
    std: np.ndarray
    demographics: "Scaler | None" = None  # the per-sequence demographics columns' scaler, if the run has them

    @classmethod
    def fit(cls, sequences: Sequence[np.ndarray], channels: Sequence[str]) -> "Scaler":
        # float64 running sums over all real samples: one pass, no (ΣT, C) concatenation
        total, sq, count = 0.0, 0.0, 0
        for seq in sequences:
            s = np.nan_to_num(seq.astype(np.float64))
            total = total + s.sum(0)
            sq = sq + (s * s).sum(0)
            count += len(s)
        if count == 0:
            raise EdgekitError("cannot fit a scaler on zero samples; the training split is empty")
        mean = total / count
        std = np.sqrt(np.maximum(sq / count - mean * mean, 0.0))
        return cls(tuple(channels), mean.astype(np.float32), np.maximum(std, STD_FLOOR).astype(np.float32))

    def apply(self, x: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        out = (np.nan_to_num(x) - self.mean) / self.std
        if mask is not None:
            out = out * mask[..., None]
        return out.astype(np.float32)

    def to_dict(self) -> dict:
        out = {"channels": list(self.channels), "mean": self.mean.tolist(), "std": self.std.tolist()}
        if self.demographics is not None:  # absent otherwise: runs without demographics keep their scaler.json
            out["demographics"] = self.demographics.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "Scaler":
        demo = cls.from_dict(data["demographics"]) if data.get("demographics") else None
        return cls(tuple(data["channels"]), np.asarray(data["mean"], np.float32), np.asarray(data["std"], np.float32),
                   demo)

    def save(self, path) -> None:
        write_json_atomic(path, self.to_dict())

    @classmethod
    def load(cls, path) -> "Scaler":
        return cls.from_dict(json.loads(open(path).read()))


@dataclass
class Arrays:
    """Fixed-length numpy views of one split: `x (N, L, C)`, `mask (N, L)`, `labels (N,)`, and
    the scaled per-sequence `demographics (N, D)` when the run has them."""

    x: np.ndarray
    mask: np.ndarray
    labels: np.ndarray
    x_mirrored: np.ndarray | None = None  # the handedness-mirrored features, for mirror augmentation
    demographics: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.x)

    def subset(self, idx: np.ndarray) -> "Arrays":
        mirrored = self.x_mirrored[idx] if self.x_mirrored is not None else None
        demo = self.demographics[idx] if self.demographics is not None else None
        return Arrays(self.x[idx], self.mask[idx], self.labels[idx], mirrored, demo)


def to_arrays(sequences: Sequence[np.ndarray], labels: np.ndarray, scaler: Scaler, length: int, keep: Keep,
              mirrored: Sequence[np.ndarray] | None = None, demographics: np.ndarray | None = None) -> Arrays:
    """`demographics` are already scaled (`demographics.scaled_rows`): they have no time axis."""
    x, mask = crop_or_pad(sequences, length, keep)
    xm = scaler.apply(crop_or_pad(mirrored, length, keep)[0], mask) if mirrored is not None else None
    return Arrays(scaler.apply(x, mask), mask, np.asarray(labels, np.int64), xm, demographics)


class SequenceTensors(torch.utils.data.Dataset):
    """Torch view of `Arrays` plus per-sequence training targets.

    Items are dicts: `x (T, C)`, `mask (T,)`, `label ()`, `target (K,)` soft target (one-hot of
    the label, or a pseudo-label's distribution), `teacher (K,)` logits when distilling, and
    `demographics (D,)` when the arrays carry them.
    `__getitems__` gathers a whole batch at once (DataLoader uses it), and `collate` cuts the
    batch to its longest real sequence.
    """

    def __init__(self, arrays: Arrays, num_classes: int, targets: np.ndarray | None = None,
                 teacher_logits: np.ndarray | None = None):
        self.x = torch.from_numpy(arrays.x)
        self.mask = torch.from_numpy(arrays.mask)
        self.labels = torch.from_numpy(arrays.labels)
        self.lengths = self.mask.sum(1).numpy()
        if targets is None:
            if (arrays.labels < 0).any():
                raise EdgekitError("unlabelled sequences need soft targets (pseudo-labels) to be trained on")
            targets = np.eye(num_classes, dtype=np.float32)[arrays.labels]
        self.targets = torch.from_numpy(np.asarray(targets, np.float32))
        self.teacher = torch.from_numpy(np.asarray(teacher_logits, np.float32)) if teacher_logits is not None else None
        self.x_mirrored = torch.from_numpy(arrays.x_mirrored) if arrays.x_mirrored is not None else None
        self.demographics = torch.from_numpy(arrays.demographics) if arrays.demographics is not None else None

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int | Sequence[int]) -> dict[str, torch.Tensor]:
        if isinstance(i, (int, np.integer)):
            return {k: v[0] for k, v in self.__getitems__([int(i)]).items()}
        return self.__getitems__(i)  # a whole batch of indices (the sampler yields index lists)

    def __getitems__(self, idx: Sequence[int]) -> dict[str, torch.Tensor]:
        idx_t = torch.as_tensor(np.asarray(idx, dtype=np.int64))
        batch = {"x": self.x[idx_t], "mask": self.mask[idx_t], "label": self.labels[idx_t],
                 "target": self.targets[idx_t]}
        if self.teacher is not None:
            batch["teacher"] = self.teacher[idx_t]
        if self.x_mirrored is not None:
            batch["x_mirrored"] = self.x_mirrored[idx_t]
        if self.demographics is not None:
            batch["demographics"] = self.demographics[idx_t]
        return batch


def collate(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Cut a right-padded batch to its longest real sequence (time steps past it are all padding)."""
    real = batch["mask"].any(0)
    t = int(real.nonzero().max()) + 1 if real.any() else 1
    return {k: (v[:, :t] if k in ("x", "mask", "x_mirrored") else v) for k, v in batch.items()}


class LengthGroupedBatches(torch.utils.data.Sampler):
    """Batches of indices, reshuffled every epoch from `(seed, epoch)` alone (so a resumed run
    draws the same batches). With `grouped`, indices are sorted by length inside random chunks
    of `batch_size * 16` sequences, then the batches are shuffled: batches hold similar lengths
    but the order stays random. Under DDP each rank takes every `world`-th batch."""

    def __init__(self, lengths: np.ndarray, batch_size: int, *, seed: int, grouped: bool = True,
                 drop_last: bool = False, rank: int = 0, world: int = 1):
        self.lengths, self.batch_size, self.seed = np.asarray(lengths), batch_size, seed
        self.grouped, self.drop_last, self.rank, self.world = grouped, drop_last, rank, world
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _all_batches(self) -> list[np.ndarray]:
        rng = np.random.default_rng([self.seed, self.epoch])
        order = rng.permutation(len(self.lengths))
        if self.grouped:
            chunk = self.batch_size * 16
            order = np.concatenate([c[np.argsort(-self.lengths[c], kind="stable")]
                                    for c in np.array_split(order, max(1, math.ceil(len(order) / chunk)))])
        batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        if self.drop_last and len(batches) > 1 and len(batches[-1]) < self.batch_size:
            batches = batches[:-1]
        return [batches[i] for i in rng.permutation(len(batches))]

    def _rank_batches(self) -> list[np.ndarray]:
        batches = self._all_batches()
        if self.world > 1:
            # every rank must run the same number of steps (DDP all-reduces each one): pad the
            # list by repeating its first batches, as DistributedSampler pads indices
            need = -(-len(batches) // self.world) * self.world
            batches = (batches * need)[:need] if batches else batches
        return batches[self.rank :: self.world]

    def __iter__(self) -> Iterator[list[int]]:
        for b in self._rank_batches():
            yield b.tolist()

    def __len__(self) -> int:
        return len(self._rank_batches())


def loader(dataset: SequenceTensors, sampler: torch.utils.data.Sampler) -> torch.utils.data.DataLoader:
    # batch_size=None: the sampler yields whole index lists and __getitems__ gathers them in one go
    return torch.utils.data.DataLoader(dataset, sampler=sampler, batch_size=None, collate_fn=collate, num_workers=0)


def eval_batches(n: int, batch_size: int) -> torch.utils.data.Sampler:
    return [list(range(i, min(n, i + batch_size))) for i in range(0, n, batch_size)]  # type: ignore[return-value]
