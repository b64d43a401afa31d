"""`load_dataset`: one entry point that picks the loader from what the path is.

- a `.ts` file → UEA/UCR (`load_uea`);
- a `.npz` file, an official `UCI HAR Dataset` folder (or its parent), or a folder holding
  `uci_har.npz` → UCI-HAR (`load_uci_har`);
- a CSV/Parquet table with the CMI key columns and any CMI sensor or label column → CMI
  (`load_cmi`, which names the CMI columns it lacks);
- any other CSV/Parquet table → generic long table (`load_long_table`).
Keyword arguments go to the chosen loader unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgekit.data.cmi import is_cmi_table, load_cmi
from edgekit.data.dataset import SequenceDataset
from edgekit.data.long_table import TABLE_SUFFIXES, load_long_table, scan_table
from edgekit.data.uci_har import is_uci_har, load_uci_har
from edgekit.data.uea import load_uea
from edgekit.errors import DataError

SUPPORTED_FORMATS = (
    "CMI Kaggle train/test (.csv/.parquet)",
    "UCI-HAR ('UCI HAR Dataset' folder or .npz)",
    "UEA/UCR (.ts)",
    "long table (.csv/.tsv/.parquet: sequence, subject, label, time, channels...)",
)


def load_dataset(path: str | Path, **kwargs: Any) -> SequenceDataset:
    """Load any supported dataset; an unknown or missing path is a DataError listing the formats."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: not found; supported formats: {'; '.join(SUPPORTED_FORMATS)}")
    if path.is_file() and path.suffix.lower() == ".ts":
        return load_uea(path, **kwargs)
    if is_uci_har(path):
        return load_uci_har(path, **kwargs)
    if path.is_file() and path.suffix.lower() in TABLE_SUFFIXES:
        if is_cmi_table(scan_table(path).collect_schema()):
            return load_cmi(path, **kwargs)
        return load_long_table(path, **kwargs)
    raise DataError(f"{path}: not a recognised dataset; supported formats: {'; '.join(SUPPORTED_FORMATS)}")
