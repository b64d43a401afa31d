"""Handedness mirroring: map a left-wrist recording onto the right-wrist frame.

The reflection is the one `edgekit.data.cmi_schema` defines (world x -> -x across the body's
sagittal plane): acc keeps y, z and negates x (`MIRROR_ACC_SIGN`); the quaternion keeps w, x and
negates y, z (`MIRROR_ROT_SIGN`); a gyroscope's angular velocity is a pseudo-vector like the
quaternion's vector part, so it keeps x and negates y, z; the thermopile and ToF sensors of each
`MIRROR_SENSOR_SWAP` pair swap places and every ToF 8x8 image is flipped left-right. Extra
pass-through channels are left alone. Mirroring twice is the identity.

One `MirrorPlan` (a permutation and a sign per raw input, in `InputSpec.columns()` order) drives
both the Polars version and the per-sample version, which is what the C bridge will do:
`out[i] = sign[i] * in[source[i]]`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import polars as pl

from edgekit.data.cmi_schema import (
    MIRROR_ACC_SIGN,
    MIRROR_ROT_SIGN,
    MIRROR_SENSOR_SWAP,
    SIM_SAMPLE_PERIOD_S,
    TOF_PIXELS,
)
from edgekit.features.spec import FeatureSpec, InputSpec

TOF_GRID = 8  # pixels per row of the row-major 8x8 ToF image


@dataclass(frozen=True)
class MirrorPlan:
    columns: tuple[str, ...]  # InputSpec.columns()
    source: tuple[int, ...]  # out[i] takes in[source[i]]
    sign: tuple[float, ...]  # ... multiplied by sign[i]


def _swapped_sensor(sensor: int, count: int) -> int:
    """1-based sensor number after mirroring, among `count` sensors."""
    for a, b in MIRROR_SENSOR_SWAP:
        if sensor == a and b <= count:
            return b
        if sensor == b and a <= count:
            return a
    return sensor


def mirror_plan(inputs: InputSpec) -> MirrorPlan:
    columns = inputs.columns()
    source, sign = list(range(len(columns))), [1.0] * len(columns)
    offset = 0

    def signed(count: int, signs: Sequence[float]) -> None:
        nonlocal offset
        for i in range(count):
            sign[offset + i] = signs[i]
        offset += count

    signed(3, MIRROR_ACC_SIGN)
    if inputs.rot is not None:
        signed(4, MIRROR_ROT_SIGN)
    if inputs.gyro is not None:
        signed(3, MIRROR_ROT_SIGN[1:])
    n_thm = len(inputs.thm)
    for k in range(1, n_thm + 1):
        source[offset + k - 1] = offset + _swapped_sensor(k, n_thm) - 1
    offset += n_thm
    for s in range(1, inputs.tof_sensors + 1):
        src_sensor = _swapped_sensor(s, inputs.tof_sensors)
        for p in range(TOF_PIXELS):
            row, col = divmod(p, TOF_GRID)
            src_pixel = row * TOF_GRID + (TOF_GRID - 1 - col)
            source[offset + (s - 1) * TOF_PIXELS + p] = offset + (src_sensor - 1) * TOF_PIXELS + src_pixel
    return MirrorPlan(columns=columns, source=tuple(source), sign=tuple(sign))


def mirror_sample(sample: Sequence[float], plan: MirrorPlan) -> list[float]:
    """One raw input vector (InputSpec.columns() order) mirrored."""
    return [plan.sign[i] * sample[plan.source[i]] for i in range(len(plan.source))]


def mirror_expressions(inputs: InputSpec, condition: pl.Expr | None = None) -> list[pl.Expr]:
    """Expressions replacing every raw input column by its mirror (where `condition` holds)."""
    plan = mirror_plan(inputs)
    exprs = []
    for i, name in enumerate(plan.columns):
        src = pl.col(plan.columns[plan.source[i]])
        mirrored = src * plan.sign[i] if plan.sign[i] != 1.0 else src
        if condition is not None:
            mirrored = pl.when(condition).then(mirrored).otherwise(pl.col(name))
        exprs.append(mirrored.alias(name))
    return exprs


def mirror_frame(frame: pl.DataFrame | pl.LazyFrame, spec_or_columns: FeatureSpec | InputSpec | Sequence[str],
                 where: pl.Expr | None = None) -> pl.DataFrame | pl.LazyFrame:
    """`frame` with its raw input columns mirrored, on every row or on the rows where `where`
    holds (e.g. `pl.col("handedness") == 0`). Other columns are untouched. Column names alone
    are given roles as `FeatureSpec.for_channels` does (CMI / UCI-HAR names)."""
    if isinstance(spec_or_columns, FeatureSpec):
        inputs = spec_or_columns.inputs
    elif isinstance(spec_or_columns, InputSpec):
        inputs = spec_or_columns
    else:
        inputs = FeatureSpec.for_channels(tuple(spec_or_columns), SIM_SAMPLE_PERIOD_S).inputs
    return frame.with_columns(mirror_expressions(inputs, where))
