"""`SequenceDataset`: the one in-memory dataset type everything downstream consumes.

A dataset is N variable-length multichannel sequences. Each sequence is a float32 array laid out
`(T_i, C)` (time-major), with the same C channels in the same order for all sequences. Labels
index `class_names`; -1 marks an unlabelled sequence (e.g. a test set). Per-sequence metadata
that is not a label (orientation, sequence type, handedness, ...) lives in `extras`, one array
of length N per key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import polars as pl

from edgekit.errors import DataError

UNLABELLED = -1


@dataclass
class SequenceDataset:
    sequences: list[np.ndarray]
    channels: tuple[str, ...]
    units: tuple[str, ...]
    sample_period_s: float
    labels: np.ndarray
    class_names: tuple[str, ...]
    subjects: np.ndarray
    sequence_ids: np.ndarray
    demographics: pl.DataFrame | None = None
    extras: dict[str, np.ndarray] = field(default_factory=dict)
    name: str = "dataset"

    def __post_init__(self) -> None:
        self.channels = tuple(self.channels)
        self.units = tuple(self.units)
        self.class_names = tuple(self.class_names)
        self.labels = np.asarray(self.labels, dtype=np.int64)
        self.subjects = np.asarray(self.subjects).astype(str)
        self.sequence_ids = np.asarray(self.sequence_ids).astype(str)
        self.sequences = [np.ascontiguousarray(s, dtype=np.float32) for s in self.sequences]
        self._validate()

    def _validate(self) -> None:
        n, c = len(self.sequences), len(self.channels)
        if len(self.units) != c:
            raise DataError(f"{self.name}: {len(self.units)} units given for {c} channels; expected one unit per channel")
        for key, arr in (("labels", self.labels), ("subjects", self.subjects), ("sequence_ids", self.sequence_ids)):
            if len(arr) != n:
                raise DataError(f"{self.name}: {key} has {len(arr)} entries for {n} sequences; expected {n}")
        for key, arr in self.extras.items():
            if len(arr) != n:
                raise DataError(f"{self.name}: extras[{key!r}] has {len(arr)} entries for {n} sequences; expected {n}")
        for i, seq in enumerate(self.sequences):
            if seq.ndim != 2 or seq.shape[1] != c:
                raise DataError(
                    f"{self.name}: sequence {self.sequence_ids[i]} has shape {seq.shape}; expected (T, {c})"
                )
            if seq.shape[0] == 0:
                raise DataError(f"{self.name}: sequence {self.sequence_ids[i]} is empty; expected at least one sample")
        bad = self.labels[(self.labels < UNLABELLED) | (self.labels >= len(self.class_names))]
        if bad.size:
            raise DataError(
                f"{self.name}: label {int(bad[0])} is outside 0..{len(self.class_names) - 1} "
                f"(classes {list(self.class_names)}); use -1 for unlabelled"
            )
        if not self.sample_period_s > 0:
            raise DataError(f"{self.name}: sample period {self.sample_period_s!r} s; expected a positive number")

    def __len__(self) -> int:
        return len(self.sequences)

    @property
    def lengths(self) -> np.ndarray:
        return np.array([s.shape[0] for s in self.sequences], dtype=np.int64)

    @property
    def is_labelled(self) -> bool:
        return bool(len(self) and (self.labels != UNLABELLED).all())

    def channel_index(self, names: Sequence[str]) -> list[int]:
        """Positions of `names` in `channels`; a missing name is a DataError naming it."""
        missing = [n for n in names if n not in self.channels]
        if missing:
            raise DataError(f"{self.name}: channels {missing} not found; available: {list(self.channels)}")
        return [self.channels.index(n) for n in names]

    def subset(self, indices: Sequence[int] | np.ndarray) -> "SequenceDataset":
        idx = np.asarray(indices, dtype=np.int64)
        return SequenceDataset(
            sequences=[self.sequences[i] for i in idx],
            channels=self.channels,
            units=self.units,
            sample_period_s=self.sample_period_s,
            labels=self.labels[idx],
            class_names=self.class_names,
            subjects=self.subjects[idx],
            sequence_ids=self.sequence_ids[idx],
            demographics=self.demographics,
            extras={k: v[idx] for k, v in self.extras.items()},
            name=self.name,
        )

    def to_long_frame(self, order_column: str = "sequence_counter") -> pl.DataFrame:
        """One row per sample: `sequence_id, subject, <order_column>, <channels...>`."""
        lengths = self.lengths
        stacked = np.concatenate(self.sequences, axis=0) if len(self) else np.zeros((0, len(self.channels)), np.float32)
        columns = {
            "sequence_id": np.repeat(self.sequence_ids, lengths),
            "subject": np.repeat(self.subjects, lengths),
            order_column: np.concatenate([np.arange(n, dtype=np.int32) for n in lengths]) if len(self) else np.zeros(0, np.int32),
        }
        columns.update({name: stacked[:, j] for j, name in enumerate(self.channels)})
        return pl.DataFrame(columns)
