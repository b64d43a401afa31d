"""Continuous recordings: one stream per subject with a label on every row, cut into sequences.

Recordings such as WISDM, PAMAP2 or an Edge Impulse multi-label sample are not blocks of rows per
sequence but one long stream per subject (or per file). `cut_streams` takes such a table sorted by
(stream, time) and starts a new sequence wherever
- the stream changes (the next subject);
- the label changes (or, with a session column, the session): a label that comes back later
  starts another sequence, so no sequence spans the activity recorded in between;
- the time jumps by more than `max_gap_s` (default `GAP_PERIODS` x the median step): the sensor
  stopped, and a window across the hole would join two recordings as if they were one.
Sliding windows (`windows.py`) then cut the sequences as for any other data.

Each sequence records why it starts (`extras[CUT_KEY]`, a `Cut` value), the time step before it
(`extras[GAP_KEY]`, seconds; NaN at a stream's start or where the time is a bare counter) and the
gap threshold (`extras[MAX_GAP_KEY]`), per sequence so `subset()` keeps them; `segment_summary`
counts them for `inspect_dataset` and the zero-config note.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

import numpy as np
import polars as pl

from edgekit.data.dataset import SequenceDataset
from edgekit.errors import DataError

CUT_KEY = "segment_cut"
GAP_KEY = "segment_gap_s"
MAX_GAP_KEY = "segment_max_gap_s"
SEGMENT_KEYS = (CUT_KEY, GAP_KEY, MAX_GAP_KEY)
GAP_PERIODS = 5  # a step longer than this many median sample periods is a recording gap
# the columns `cut_streams` adds (leading underscores: never a user's column name in practice)
SEGMENT_COL, CUT_COL, STEP_COL = "_segment", "_cut", "_step_s"


class Cut(str, Enum):
    START = "start"  # the first sequence of a stream (subject)
    LABEL = "label"
    SESSION = "session"
    GAP = "gap"


def cut_streams(frame: pl.DataFrame, *, stream_col: str | None, change_col: str, change: Cut, order_col: str,
                unit_s: float | None, max_gap_s: float | None = None) -> tuple[pl.DataFrame, float]:
    """`frame` (sorted by stream, then time) with a sequence id column `SEGMENT_COL` ("<stream>:<k>",
    k counting from 0 within each stream), `CUT_COL` (the `Cut` that starts each row's sequence,
    on every row) and `STEP_COL` (the step before the sequence, seconds), and the gap threshold
    used, in seconds (inf: no gap splitting).

    `stream_col=None`: the whole frame is one stream. `unit_s`: seconds per unit of a numeric
    `order_col` (None for an integer counter with no known rate: then only the default,
    rate-free threshold applies).
    """
    dtype = frame.schema[order_col]
    step = pl.col(order_col).diff()
    step = (step.dt.total_microseconds() / 1e6) if dtype.is_temporal() else step.cast(pl.Float64)
    scale = 1.0 if dtype.is_temporal() else unit_s
    same_stream = pl.lit(True) if stream_col is None else pl.col(stream_col).eq_missing(pl.col(stream_col).shift())
    changed = pl.col(change_col).ne_missing(pl.col(change_col).shift())
    work = frame.with_columns(step.alias("_step"), (same_stream & (pl.int_range(pl.len()) > 0)).alias("_same"),
                              changed.alias("_changed"))
    inside = work.filter(pl.col("_same") & ~pl.col("_changed")).get_column("_step")
    threshold = _threshold(inside, max_gap_s, scale, order_col)  # in the order column's units
    cut = (pl.when(~pl.col("_same")).then(pl.lit(Cut.START.value))
           .when(pl.col("_changed")).then(pl.lit(change.value))
           .when(pl.col("_step") > threshold).then(pl.lit(Cut.GAP.value)))
    work = work.with_columns(cut.alias(CUT_COL))
    starts = pl.col(CUT_COL).is_not_null().cast(pl.Int64).cum_sum()
    index = (starts.over(stream_col) if stream_col is not None else starts) - 1
    stream = pl.col(stream_col).cast(pl.String) + pl.lit(":") if stream_col is not None else pl.lit("")
    step_s = pl.when(pl.col(CUT_COL) == Cut.START.value).then(None).otherwise(pl.col("_step") * (scale or np.nan))
    work = work.with_columns((stream + index.cast(pl.String)).alias(SEGMENT_COL), step_s.alias(STEP_COL))
    # the cut reason and step of a sequence's first row, carried onto all its rows
    work = work.with_columns(pl.col(CUT_COL).forward_fill(), pl.col(STEP_COL).first().over(SEGMENT_COL))
    return work.drop("_step", "_same", "_changed"), threshold * (scale or np.nan) if np.isfinite(threshold) else np.inf


def _threshold(steps: pl.Series, max_gap_s: float | None, scale: float | None, order_col: str) -> float:
    if max_gap_s is not None:
        if scale is None:
            raise DataError(f"max_gap_s = {max_gap_s:g} s but the order column {order_col!r} is a sample counter "
                            "with no time; pass sample_period_s (data.sample_rate_hz) or a time column")
        return max_gap_s / scale
    positive = steps.drop_nulls().filter(steps.drop_nulls() > 0)
    median = float(positive.median()) if positive.len() else 0.0
    return GAP_PERIODS * median if median > 0 else np.inf  # no steps to judge by: no gap splitting


def segment_summary(ds: SequenceDataset) -> dict[str, Any] | None:
    """How `cut_streams` cut `ds`: streams, sequences, and the sequences started by each kind of
    cut; None when `ds` was not cut from continuous streams."""
    if CUT_KEY not in ds.extras:
        return None
    cuts = ds.extras[CUT_KEY]
    gaps = ds.extras[GAP_KEY][cuts == Cut.GAP.value]
    thresholds = ds.extras[MAX_GAP_KEY][np.isfinite(ds.extras[MAX_GAP_KEY])]  # inf: a stream not split at gaps
    return {
        "streams": int((cuts == Cut.START.value).sum()),
        "segments": len(ds),
        "label_changes": int((cuts == Cut.LABEL.value).sum()),
        "session_changes": int((cuts == Cut.SESSION.value).sum()),
        "gaps": int(gaps.size),
        "max_gap_s": float(thresholds.max()) if thresholds.size else None,
        "largest_gap_s": float(np.nanmax(gaps)) if gaps.size and np.isfinite(gaps).any() else None,
    }


def segmentation_note(ds: SequenceDataset) -> str | None:
    """One line saying how a continuous table was cut into sequences (None when it was not)."""
    summary = segment_summary(ds)
    if summary is None:
        return None
    by = "session" if summary["session_changes"] else "label"
    changes = summary["session_changes"] or summary["label_changes"]
    gap = f" > {summary['max_gap_s']:.3g} s" if summary["max_gap_s"] is not None else ""
    return (f"sequences: no sequence column, so each of the {summary['streams']} subject streams is cut where the "
            f"{by} changes ({changes} changes) and at time gaps{gap} ({summary['gaps']}): {summary['segments']} "
            "sequences (data.columns.sequence = ''; data.columns.max_gap_s sets the gap)")
