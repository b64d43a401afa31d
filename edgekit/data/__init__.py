"""Data: the `SequenceDataset` type, loaders for each supported format, and the wrist simulator."""

from edgekit.data.dataset import UNLABELLED, SequenceDataset

__all__ = ["SequenceDataset", "UNLABELLED"]
from edgekit.data.cmi import load_cmi
from edgekit.data.inspect import inspect_dataset
from edgekit.data.load import load_dataset
from edgekit.data.long_table import load_long_table
from edgekit.data.uci_har import load_uci_har
from edgekit.data.uea import load_uea

__all__ += ["inspect_dataset", "load_cmi", "load_dataset", "load_long_table", "load_uci_har", "load_uea"]
