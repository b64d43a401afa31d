"""Per-sample ToF aggregates for the batch pipeline: mean, std, min, max and valid fraction of
each 8x8 sensor over its valid pixels (within `TOF_RANGE`, 0..254; raw -1 means no return).

This block is numpy rather than Polars expressions because it dominates the cost: 320 pixel
columns x 575 K rows. Folding 64 columns with `pl.sum_horizontal`/`when` allocates a new column
per step and took ~20 s; here every pixel column is read once, in its own dtype, into
accumulators that stay in cache (~8 cheap ops per column). Integer pixels (the CMI data) are
summed exactly in integers, which is also how the device accumulates them; float pixels in float64.

The std uses the sums form var = (n sum x^2 - (sum x)^2) / n^2, exact for integer pixels (valid
ones are at most 254, so 64 of them and their squares sum far below 2^31 in int32); the
streaming reference uses the same form. Aggregates are row-wise, so they are computed before
the frame is sorted, and because they are invariant to the left-right flip of an image,
mirroring reduces to swapping the aggregates of the `MIRROR_SENSOR_SWAP` sensors.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import polars as pl

from edgekit.data.cmi_schema import TOF_PIXELS
from edgekit.features import catalog
from edgekit.features.spec import TOF_RANGE, InputSpec

TOF_HIGH = int(TOF_RANGE.high)  # the integer path's test 0 <= v <= TOF_HIGH is unsigned(v) <= TOF_HIGH


def _sensor_aggregates(block: pl.DataFrame, integer: bool) -> dict[str, np.ndarray]:
    """`block`: one sensor's pixel columns, integers with missing as -1, or Float64 with NaN."""
    rows, width = block.height, block.width
    if integer:
        count, total, squares = np.zeros(rows, np.int32), np.zeros(rows, np.int32), np.zeros(rows, np.int32)
        low, high = np.full(rows, np.iinfo(np.uint64).max, np.uint64), np.zeros(rows, np.int32)
        valid, kept, square = np.empty(rows, bool), np.empty(rows, np.int32), np.empty(rows, np.int32)  # reused
        for series in block.iter_columns():
            values = series.to_numpy()  # zero-copy in the column's own integer dtype
            # viewed as unsigned, negative pixels (-1: no return) lie above TOF_HIGH like huge ones:
            # one comparison tells valid pixels, and no missing one can be the minimum
            unsigned = values.view(np.dtype(f"u{values.itemsize}"))
            count += np.less_equal(unsigned, TOF_HIGH, out=valid)
            np.multiply(values, valid, out=kept, casting="unsafe")  # missing pixels add 0; valid fit int32
            total += kept
            squares += np.multiply(kept, kept, out=square)
            np.maximum(high, kept, out=high)  # a missing pixel's 0 never beats a valid one (>= 0)
            np.minimum(low, unsigned, out=low)
    else:
        count, total, squares = np.zeros(rows, np.int32), np.zeros(rows), np.zeros(rows)
        low, high = np.full(rows, np.inf), np.full(rows, -np.inf)
        for series in block.iter_columns():
            values = series.to_numpy()
            valid = (values >= TOF_RANGE.low) & (values <= TOF_RANGE.high)  # NaN, inf, -1 and huge fail
            count += valid
            kept = np.where(valid, values, 0.0)  # missing pixels add 0
            total += kept
            squares += kept * kept
            np.fmin(low, np.where(valid, values, np.inf), out=low)
            np.maximum(high, kept, out=high)  # a missing pixel's 0 never beats a valid one (>= 0)
    n = count.astype(np.float64)
    some = count > 0
    safe_n = np.where(some, n, 1.0)
    total_f, squares_f = total.astype(np.float64), squares.astype(np.float64)
    variance = np.maximum((safe_n * squares_f - total_f * total_f) / (safe_n * safe_n), 0.0)
    return {
        "mean": np.where(some, total_f / safe_n, 0.0),
        "std": np.where(some, np.sqrt(variance), 0.0),
        "min": np.where(some, low.astype(np.float64), 0.0),
        "max": np.where(some, high.astype(np.float64), 0.0),
        "valid": n / width,
    }


def tof_aggregates(frame: pl.DataFrame, inputs: InputSpec) -> pl.DataFrame:
    """`tof_{s}_{mean,std,min,max,valid}` for every sensor, row for row with `frame`."""
    columns = inputs.tof_columns()
    schema = frame.schema
    integer = all(schema[c].is_integer() for c in columns)
    if integer:  # only columns with nulls (IMU-only sequences) need a copy
        pixels = frame.select(pl.col(c).fill_null(-1) if frame.get_column(c).null_count() else pl.col(c)
                              for c in columns)
    else:
        pixels = frame.select(pl.col(columns).cast(pl.Float64).fill_null(float("nan")))
    blocks = [pixels.select(columns[s * TOF_PIXELS:(s + 1) * TOF_PIXELS]) for s in range(inputs.tof_sensors)]
    # numpy releases the GIL in its loops, so sensors run in parallel on Polars' thread budget
    with ThreadPoolExecutor(max_workers=max(1, min(len(blocks), pl.thread_pool_size()))) as pool:
        per_sensor = list(pool.map(lambda block: _sensor_aggregates(block, integer), blocks))
    return pl.DataFrame({f"tof_{sensor}_{s}": stats[s] for sensor, stats in enumerate(per_sensor, start=1)
                         for s in catalog.TOF_STATS})
