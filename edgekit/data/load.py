"""`load_dataset`: one entry point that picks the loader from what the path is.

- a `.ts` file → UEA/UCR (`load_uea`);
- a `.npz` file, an official `UCI HAR Dataset` folder (or its parent), or a folder holding
  `uci_har.npz` → UCI-HAR (`load_uci_har`);
- a CSV/Parquet table with the CMI key columns and any CMI sensor or label column → CMI
  (`load_cmi`, which names the CMI columns it lacks);
- an Edge Impulse acquisition file (`.json`, or a `.csv` whose first column is `timestamp`), or
  a folder (or Studio export) of them → `load_edge_impulse`;
- any other CSV/Parquet table → generic long table (`load_long_table`); when the caller names
  none of its columns, the roles are fitted to the header (`TableColumns.for_table`: no subject
  column, none; no sequence column but a subject and a label, a continuous recording).
Keyword arguments go to the chosen loader unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgekit.data.cmi import is_cmi_table, load_cmi
from edgekit.data.dataset import SequenceDataset
from edgekit.data.edge_impulse import is_edge_impulse, load_edge_impulse
from edgekit.data.long_table import TABLE_SUFFIXES, TableColumns, load_long_table, scan_table
from edgekit.data.uci_har import is_uci_har, load_uci_har
from edgekit.data.uea import load_uea
from edgekit.errors import DataError

SUPPORTED_FORMATS = (
    "CMI Kaggle train/test (.csv/.parquet)",
    "UCI-HAR ('UCI HAR Dataset' folder or .npz)",
    "UEA/UCR (.ts)",
    "Edge Impulse acquisition files (.json, .csv with a timestamp column first, or a folder of them)",
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
    names_columns = any(key in kwargs for key in TableColumns().loader_kwargs() if key != "channels")
    if path.is_file() and path.suffix.lower() in TABLE_SUFFIXES:
        if is_cmi_table(scan_table(path).collect_schema()):
            return load_cmi(path, **kwargs)
        if not names_columns and is_edge_impulse(path):
            return load_edge_impulse(path, **kwargs)
        if not names_columns:
            kwargs = {**TableColumns().for_table(path).loader_kwargs(), **kwargs}
        return load_long_table(path, **kwargs)
    if is_edge_impulse(path):
        return load_edge_impulse(path, **kwargs)
    raise DataError(f"{path}: not a recognised dataset; supported formats: {'; '.join(SUPPORTED_FORMATS)}")
