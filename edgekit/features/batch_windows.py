"""Windowed families of the Polars batch pipeline: jerk, rolling stats, energy, zero-crossing
rate, correlation, stationarity and sliding-DFT band power (see `batch.py` for the helper
columns: `first` marks a sequence's first row, `pos` is the row's index in its sequence,
`gapped` is a strictly increasing row key with a gap between sequences wider than any window,
so `rolling_*_by(gapped, "{w}i")` is a causal, partial-at-the-start, per-sequence window).

Polars' rolling variance is numerically stable (it agrees with a two-pass variance to ~1e-9 of
the variance even on 1e4 + 1e-3 noise), so covariance is taken from variances by polarisation,
cov(x, y) = (var(x + y) - var(x) - var(y)) / 2, rather than from E[xy] - E[x]E[y].
"""

from __future__ import annotations

import math

import polars as pl

from edgekit.features import catalog
from edgekit.features.spec import VARIANCE_FLOOR, FeatureSpec, RollingStat

TWO_PI = 2.0 * math.pi


def backward_difference(name: str, dt: float, first: str) -> pl.Expr:
    """(x_t - x_{t-1}) / dt, 0 on a sequence's first sample."""
    return pl.when(pl.col(first)).then(0.0).otherwise((pl.col(name) - pl.col(name).shift(1)) / dt)


def windowed_expressions(lf: pl.LazyFrame, spec: FeatureSpec, *, first: str, pos: str, gapped: str) -> pl.LazyFrame:
    fam, dt = spec.families, spec.sample_period_s
    c = pl.col

    def window(w: int) -> dict:
        return {"by": gapped, "window_size": f"{w}i"}

    def rolling(expr: pl.Expr, stat: RollingStat, w: int) -> pl.Expr:
        if stat is RollingStat.MEAN:
            return expr.rolling_mean_by(**window(w))
        if stat is RollingStat.STD:
            return expr.rolling_std_by(**window(w), ddof=0)
        if stat is RollingStat.MAX:
            return expr.rolling_max_by(**window(w))
        return expr.rolling_min_by(**window(w))

    # Polars does not share common subexpressions between the expressions of one with_columns,
    # so every quantity used twice (rolling variances, crossings, DFT phases) becomes a column first
    temps: dict[str, pl.Expr] = {}
    later_temps: dict[str, pl.Expr] = {}  # temporaries built from temporaries

    def temp(name: str, expr: pl.Expr, stage: dict[str, pl.Expr] = temps) -> pl.Expr:
        stage.setdefault(name, expr.alias(name))
        return c(name)

    def variance(ch: str, w: int) -> pl.Expr:
        return temp(f"__var{w}_{ch}", c(ch).rolling_var_by(**window(w), ddof=0))

    exprs: list[pl.Expr] = []
    if fam.jerk is not None:
        exprs += [backward_difference(ch, dt, first).alias(f"{ch}_jerk") for ch in fam.jerk.channels]
    for group in fam.rolling:
        exprs += [rolling(c(ch), s, w).alias(f"{ch}_roll{w}_{s.value}")
                  for ch in group.channels for w in group.windows for s in group.stats]
    if fam.energy is not None:
        exprs += [(c(ch) * c(ch)).rolling_mean_by(**window(w)).alias(f"{ch}_energy{w}")
                  for ch in fam.energy.channels for w in fam.energy.windows]
    if fam.zero_crossings is not None:
        for ch in fam.zero_crossings.channels:
            # the sign change between this sample and the previous one, 0 on the first sample
            crossed = temp(f"__crossed_{ch}", pl.when(c(first)).then(0.0)
                           .otherwise((c(ch).shift(1) * c(ch) < 0.0).cast(pl.Float64)))
            exprs += [crossed.rolling_mean_by(**window(w)).alias(f"{ch}_zcr{w}") for w in fam.zero_crossings.windows]
    if fam.correlation is not None:
        for a, b in fam.correlation.pairs:
            for w in fam.correlation.windows:
                var_a, var_b = variance(a, w), variance(b, w)
                var_sum = temp(f"__varsum{w}_{a}_{b}", (c(a) + c(b)).rolling_var_by(**window(w), ddof=0))
                cov = (var_sum - var_a - var_b) / 2.0
                corr = (cov / (var_a * var_b).sqrt()).clip(-1.0, 1.0)
                flat = (var_a < VARIANCE_FLOOR) | (var_b < VARIANCE_FLOOR)
                exprs.append(pl.when(flat).then(0.0).otherwise(corr).alias(f"{a}_{b}_corr{w}"))
    if fam.stationarity is not None:
        st = fam.stationarity
        std = variance("acc_mag", st.window).sqrt()
        exprs.append((std < st.threshold).cast(pl.Float64).alias(f"stationary{st.window}"))
    for bp in fam.band_power:
        n = temp(f"__n{bp.window}", pl.min_horizontal(c(pos) + 1, pl.lit(bp.window)).cast(pl.Float64))
        phase = (c(pos) % bp.window).cast(pl.Float64)  # the device's table index: t mod N
        for f, k in zip(bp.frequencies_hz, bp.bins(dt)):
            angle = TWO_PI * k * phase / bp.window
            cos, sin = temp(f"__cos{bp.window}_{k}", angle.cos()), temp(f"__sin{bp.window}_{k}", angle.sin())
            for ch in bp.channels:
                re = temp(f"__re{bp.window}_{k}_{ch}", (c(ch) * cos).rolling_sum_by(**window(bp.window)), later_temps)
                im = temp(f"__im{bp.window}_{k}_{ch}", (c(ch) * sin).rolling_sum_by(**window(bp.window)), later_temps)
                name = f"{ch}_bp{catalog.bp_freq_label(f)}hz_w{bp.window}"
                exprs.append(((re * re + im * im) / (n * n)).alias(name))
    for stage in (temps, later_temps):
        lf = lf.with_columns(stage.values()) if stage else lf
    return lf.with_columns(exprs) if exprs else lf
