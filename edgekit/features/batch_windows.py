"""Windowed families of the Polars batch pipeline: jerk and its magnitude, rolling stats,
energy, zero-crossing rate, correlation, stationarity, sliding-DFT band power and the
spectrum's entropy, dominant frequency and band ranges (see `batch.py` for the helper
columns: `first` marks a sequence's first row, `pos` is the row's index in its sequence,
`gapped` is a strictly increasing row key with a gap between sequences wider than any window,
so `rolling_*_by(gapped, "{w}i")` is a causal, partial-at-the-start, per-sequence window).

Polars' rolling variance is numerically stable (it agrees with a two-pass variance to ~1e-9 of
the variance even on 1e4 + 1e-3 noise), so covariance is taken from variances by polarisation,
cov(x, y) = (var(x + y) - var(x) - var(y)) / 2, rather than from E[xy] - E[x]E[y].
"""

from __future__ import annotations

import math
from typing import Callable

import polars as pl

from edgekit.features import catalog
from edgekit.features.spec import DOMINANT_TIE, SPECTRUM_FLOOR, VARIANCE_FLOOR, FeatureSpec, RollingStat, Spectrum

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
        if stat is RollingStat.MEDIAN:  # the mean of the two middle values of an even window, as the reference
            return expr.rolling_median_by(**window(w))
        return expr.rolling_min_by(**window(w))

    # Polars does not share common subexpressions between the expressions of one with_columns,
    # so every quantity used twice (rolling variances, crossings, DFT phases) becomes a column
    # first, in stages: a temporary may use those of earlier stages (DFT phases -> sums -> powers)
    stages: list[dict[str, pl.Expr]] = [{}, {}, {}, {}]

    def temp(name: str, expr: pl.Expr, stage: int = 0) -> pl.Expr:
        stages[stage].setdefault(name, expr.alias(name))
        return c(name)

    def dft_sums(ch: str, w: int, k: int) -> tuple[pl.Expr, pl.Expr]:
        """Re and Im of bin k of the sliding DFT of `ch` over `w` samples, phase index t mod w."""
        angle = TWO_PI * k * (c(pos) % w).cast(pl.Float64) / w
        cos, sin = temp(f"__cos{w}_{k}", angle.cos()), temp(f"__sin{w}_{k}", angle.sin())
        return (temp(f"__re{w}_{k}_{ch}", (c(ch) * cos).rolling_sum_by(**window(w)), 1),
                temp(f"__im{w}_{k}_{ch}", (c(ch) * sin).rolling_sum_by(**window(w)), 1))

    def window_length(w: int) -> pl.Expr:
        return temp(f"__n{w}", pl.min_horizontal(c(pos) + 1, pl.lit(w)).cast(pl.Float64))

    def variance(ch: str, w: int) -> pl.Expr:
        return temp(f"__var{w}_{ch}", c(ch).rolling_var_by(**window(w), ddof=0))

    exprs: list[pl.Expr] = []
    if fam.jerk is not None:
        exprs += [backward_difference(ch, dt, first).alias(f"{ch}_jerk") for ch in fam.jerk.channels]
    if fam.jerk_magnitude:
        dx, dy, dz = (c(f"acc_{a}") - c(f"acc_{a}").shift(1) for a in catalog.XYZ)
        exprs.append(pl.when(c(first)).then(0.0).otherwise((dx * dx + dy * dy + dz * dz).sqrt() / dt)
                     .alias("acc_jerk_mag"))
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
        n = window_length(bp.window)
        for f, k in zip(bp.frequencies_hz, bp.bins(dt)):
            for ch in bp.channels:
                re, im = dft_sums(ch, bp.window, k)
                name = f"{ch}_bp{catalog.bp_freq_label(f)}hz_w{bp.window}"
                exprs.append(((re * re + im * im) / (n * n)).alias(name))
    for sp in fam.spectrum:
        n = window_length(sp.window)
        for ch in sp.channels:
            powers = []
            for k in range(1, sp.n_bins + 1):
                re, im = dft_sums(ch, sp.window, k)
                powers.append(temp(f"__pw{sp.window}_{k}_{ch}", (re * re + im * im) / (n * n), 2))
            exprs += _spectrum_expressions(sp, ch, powers, dt, temp)
    for stage in stages:
        lf = lf.with_columns(stage.values()) if stage else lf
    return lf.with_columns(exprs) if exprs else lf


def _spectrum_expressions(sp: Spectrum, ch: str, powers: list[pl.Expr], dt: float,
                          temp: Callable[..., pl.Expr]) -> list[pl.Expr]:
    """Entropy, dominant frequency and band sums of one channel from its bins' power columns
    (reference.spectrum_values, in the same operation order)."""
    total = temp(f"__pwsum{sp.window}_{ch}", pl.sum_horizontal(powers), 3)
    flat = total < SPECTRUM_FLOOR
    values = []
    if sp.entropy:
        if len(powers) > 1:
            terms = [pl.when(power / total > 0.0).then(-(power / total) * (power / total).log()).otherwise(0.0)
                     for power in powers]
            entropy = pl.when(flat).then(0.0).otherwise(pl.sum_horizontal(terms) / math.log(len(powers)))
        else:
            entropy = pl.lit(0.0)
        values.append(entropy)
    if sp.dominant_frequency:
        largest = temp(f"__pwmax{sp.window}_{ch}", pl.max_horizontal(powers), 3)
        ties = [power >= largest * (1.0 - DOMINANT_TIE) for power in powers]
        best = pl.concat_list(ties).list.arg_max()  # the first True: the lowest bin that ties with the largest
        values.append(pl.when(flat).then(0.0).otherwise((best + 1).cast(pl.Float64) / (sp.window * dt)))
    for first, last in sp.band_bins(dt):
        values.append(pl.sum_horizontal(powers[first - 1:last]))
    names = catalog.spectrum_names(ch, sp.window, sp.entropy, sp.dominant_frequency, sp.bands_hz)
    return [v.alias(name) for v, name in zip(values, names)]
