"""Data: the `SequenceDataset` type, loaders for each supported format, and the wrist simulator."""

from edgekit.data.dataset import UNLABELLED, SequenceDataset

__all__ = ["SequenceDataset", "UNLABELLED"]
