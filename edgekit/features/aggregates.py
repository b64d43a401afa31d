"""Per-sequence aggregates of the per-sample features, for tabular baselines (gradient boosting,
logistic regression): one row per sequence, `<feature>__<stat>` columns, optionally joined with
the subject's demographics.

Not causal and not part of the device contract: a whole sequence is summarised at once.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import polars as pl

from edgekit.errors import DataError, SpecError
from edgekit.features.spec import FeatureSpec

DEFAULT_STATS = ("mean", "std", "max", "min", "q10", "q50", "q90")


def _stat_expression(name: str, stat: str) -> pl.Expr:
    col = pl.col(name)
    if stat == "mean":
        return col.mean()
    if stat == "std":
        return col.std(ddof=0)  # population, so one-sample sequences give 0 rather than null
    if stat == "max":
        return col.max()
    if stat == "min":
        return col.min()
    if stat == "last":
        return col.last()
    if stat.startswith("q") and stat[1:].isdigit() and 0 <= int(stat[1:]) <= 100:
        return col.quantile(int(stat[1:]) / 100, interpolation="linear")
    raise SpecError(f"aggregate stat {stat!r} unknown; expected mean, std, max, min, last or qNN (0..100)")


def sequence_aggregates(features: pl.DataFrame, spec: FeatureSpec, *, stats: Sequence[str] = DEFAULT_STATS,
                        sequence_col: str = "sequence_id", demographics: pl.DataFrame | None = None,
                        subject_of: pl.DataFrame | Mapping[str, str] | None = None) -> pl.DataFrame:
    """One row per sequence (in first-appearance order): `sequence_col`, `n_samples`,
    `<feature>__<stat>` (Float32) for every feature of `spec` and every stat, then, when
    `demographics` is given, `subject` and the demographics columns. The subject of a sequence
    comes from a `subject` column of `features`, or `subject_of` (a frame with `sequence_col`
    and `subject`, or a mapping sequence id -> subject)."""
    names = spec.names()
    missing = [n for n in (sequence_col, *names) if n not in features.columns]
    if missing:
        raise DataError(f"feature frame lacks columns {missing[:8]}; expected the output of "
                        f"compute_features for spec {spec.hash()}")
    aggs = [pl.len().alias("n_samples")]
    aggs += [_stat_expression(n, s).cast(pl.Float32).alias(f"{n}__{s}") for n in names for s in stats]
    has_subject = "subject" in features.columns
    if has_subject:
        aggs.append(pl.col("subject").first())
    table = features.group_by(sequence_col, maintain_order=True).agg(aggs)
    if demographics is None:
        return table
    if not has_subject:
        if subject_of is None:
            raise DataError("demographics given but no subject per sequence: pass subject_of= or a "
                            "'subject' column in the feature frame")
        if not isinstance(subject_of, pl.DataFrame):
            subject_of = pl.DataFrame({sequence_col: list(subject_of), "subject": list(subject_of.values())})
        mapping = subject_of.select(pl.col(sequence_col).cast(table.schema[sequence_col]),
                                    pl.col("subject").cast(pl.String)).unique(sequence_col)
        table = table.join(mapping, on=sequence_col, how="left", maintain_order="left")
    if "subject" not in demographics.columns:
        raise DataError(f"demographics has columns {demographics.columns}; expected a 'subject' column")
    demo = demographics.with_columns(pl.col("subject").cast(pl.String)).unique("subject", keep="first")
    return table.with_columns(pl.col("subject").cast(pl.String)).join(demo, on="subject", how="left",
                                                                      maintain_order="left")
