"""Per-sequence demographics (age, sex, handedness, height, arm lengths, adult/child) as a model input.

Source: the dataset's per-subject table (`SequenceDataset.demographics`: CMI's
`<stem>_demographics.csv`, the simulator's too). Every numeric column but `subject` that has a
value for some training sequence becomes one input, in the table's order, joined to each sequence
by its subject. A sequence whose subject the table lacks (a test set without a table, unlabelled
data) or a null cell reads as unknown, and unknown is the training mean: 0 after scaling.

Normalisation: a `Scaler` over the training sequences' rows (one row per sequence), fit on the
training split only and stored as `Scaler.demographics` (in `scaler.json`), so the exporter folds
the same mean/std into the graph and the runtime feeds raw values.

Models: a model takes demographics when `demographics_width(model) > 0`, the teachers'
`layout.demo_chs` (`models/layers/modality.py`); its `forward` and `forward_train` then take
`demographics=(B, D)`. `member_options` sizes a teacher's layout to the run's columns; students
take none. Layout: `(N, D)` float32 rows, one per sequence; they ride in batches as `(B, D)`.
"""

from __future__ import annotations

import inspect
from dataclasses import replace
from typing import Any, Sequence

import numpy as np
import polars as pl

from edgekit.data.dataset import SequenceDataset
from edgekit.train.tensors import STD_FLOOR, Scaler


def raw_rows(ds: SequenceDataset, columns: Sequence[str]) -> np.ndarray:
    """`(N, D)` float64 values of `columns` for each sequence of `ds`; NaN where unknown."""
    table = ds.demographics
    known = [c for c in columns if table is not None and c in table.columns]
    rows = np.full((len(ds), len(columns)), np.nan)
    if not known:
        return rows
    demo = table.select(pl.col("subject").cast(pl.String), *[pl.col(c).cast(pl.Float64) for c in known])
    joined = pl.DataFrame({"subject": ds.subjects.astype(str)}).join(
        demo.unique("subject", keep="first"), on="subject", how="left", maintain_order="left")
    for c in known:
        rows[:, list(columns).index(c)] = joined.get_column(c).to_numpy().astype(np.float64)
    return rows


def fit_scaler(train: SequenceDataset) -> Scaler | None:
    """The demographics `Scaler` of the training split, or None when its data has no demographics."""
    table = train.demographics
    if table is None:
        return None
    numeric = [c for c, dtype in table.schema.items() if c != "subject" and dtype.is_numeric()]
    rows = raw_rows(train, numeric)
    known = ~np.isnan(rows).all(axis=0)  # a column no training sequence has says nothing
    if not known.any():
        return None
    rows = rows[:, known]
    mean = np.nanmean(rows, axis=0)
    std = np.sqrt(np.nanmean((rows - mean) ** 2, axis=0))
    # a column constant in training (every subject right-handed) keeps a unit scale: the features'
    # STD_FLOOR would turn the first left-hander at test time into a value of -1e6
    std = np.where(std > STD_FLOOR, std, 1.0)
    columns = tuple(c for c, k in zip(numeric, known) if k)
    return Scaler(columns, mean.astype(np.float32), std.astype(np.float32))


def scaled_rows(ds: SequenceDataset, scaler: Scaler) -> np.ndarray | None:
    """`(N, D)` float32 scaled demographics of `ds` for a run whose scaler has them, else None."""
    demo = scaler.demographics
    if demo is None:
        return None
    rows = raw_rows(ds, demo.channels)
    rows = np.where(np.isnan(rows), demo.mean, rows)  # unknown = the training mean
    return ((rows - demo.mean) / demo.std).astype(np.float32)


def columns_of(scaler: Scaler) -> tuple[str, ...]:
    return scaler.demographics.channels if scaler.demographics is not None else ()


def demographics_width(model: Any) -> int:
    """How many demographics columns `model`'s forward takes (0: it takes none). Wrappers
    (`export.normalize.Normalized`, the exported teacher ensemble) say so with `demo_chs`."""
    if hasattr(model, "demo_chs"):
        return int(model.demo_chs)
    return int(getattr(getattr(model, "layout", None), "demo_chs", 0) or 0)


def demographics_input(model: Any, demographics: Any | None) -> dict[str, Any]:
    """The `demographics=` keyword for a call of `model`: the batch's demographics when the model
    takes them, else nothing (students take none)."""
    return {"demographics": demographics} if demographics is not None and demographics_width(model) > 0 else {}


def member_options(name: str, options: dict[str, Any], in_chs: int, columns: Sequence[str]) -> dict[str, Any]:
    """Builder options (already parsed by `recipe.model_options`) with the layout taking `columns`:
    for builders with a `layout` (the teachers); others, and runs without demographics, unchanged."""
    from edgekit.models import get_entry
    from edgekit.models.layers.modality import InputLayout

    if not columns or "layout" not in inspect.signature(get_entry(name).builder).parameters:
        return options
    layout = options.get("layout") or InputLayout(imu_chs=in_chs)
    return {**options, "layout": replace(layout, demo_chs=len(columns))}
