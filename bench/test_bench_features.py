"""Feature computation: the Polars batch pipeline against the pandas + scipy notebook-style
baseline (`baseline_pandas.py`) on a competition-sized simulated CMI table, and the pure-Python
streaming reference per sample. Both batch implementations compute `FeatureSpec.cmi_default()`
(101 features; `tests/test_bench_baseline.py` holds them equal) from their own in-memory table:
the Polars frame for Polars, the same table converted with `to_pandas()` (outside the timing)
for pandas.

    .venv/bin/python -m pytest bench/test_bench_features.py --benchmark-columns=min,median,max,rounds \
        --benchmark-json=results/bench/features.json

`EDGEKIT_BENCH_SEQUENCES` shrinks the table for a quick run (default 8151, the competition's).
The issue's goal (not asserted: tests never assert on wall-clock time): Polars >= 20x faster
than the baseline and <= 3 s for ~575 K rows on 2 cores.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from edgekit.data.simulator import simulate
from edgekit.features import FeatureSpec, StreamingFeatures, compute_features

sys.path.insert(0, str(Path(__file__).parent))  # baseline_pandas

SEQUENCES = int(os.environ.get("EDGEKIT_BENCH_SEQUENCES", "8151"))
SEED = 0
GROUP = f"features cmi_default: {SEQUENCES} simulated sequences"
POLARS_ROUNDS = 5
REFERENCE_SEQUENCES = 5


@pytest.fixture(scope="module")
def spec() -> FeatureSpec:
    return FeatureSpec.cmi_default()


@pytest.fixture(scope="module")
def cmi_sim():
    return simulate(SEQUENCES, seed=SEED)


def table_info(train: pl.DataFrame, spec: FeatureSpec, machine: dict) -> dict:
    return {"data": f"simulate({SEQUENCES}, seed={SEED})", "rows": train.height,
            "sequences": train["sequence_id"].n_unique(), "features": len(spec.names()),
            "compute": "float64, output Float32", **machine}


@pytest.mark.benchmark(group=GROUP)
def test_features_polars(benchmark, cmi_sim, spec, machine):
    benchmark.name = "polars compute_features"
    benchmark.extra_info.update(table_info(cmi_sim.train, spec, machine))
    out = benchmark.pedantic(compute_features, args=(cmi_sim.train, spec),
                             kwargs={"handedness": cmi_sim.demographics},
                             rounds=POLARS_ROUNDS, iterations=1, warmup_rounds=1)
    assert out.shape == (cmi_sim.train.height, 2 + len(spec.names()))


@pytest.mark.benchmark(group=GROUP)
def test_features_pandas_baseline(benchmark, cmi_sim, spec, machine):
    pytest.importorskip("pandas")
    pytest.importorskip("scipy")
    from baseline_pandas import compute_features_pandas

    benchmark.name = "pandas+scipy baseline"
    benchmark.extra_info.update(table_info(cmi_sim.train, spec, machine))
    frame, demographics = cmi_sim.train.to_pandas(), cmi_sim.demographics.to_pandas()
    out = benchmark.pedantic(compute_features_pandas, args=(frame, demographics), rounds=1, iterations=1)
    assert out.shape == (cmi_sim.train.height, 2 + len(spec.names()))


@pytest.mark.benchmark(group="features cmi_default: streaming reference")
def test_features_reference_per_sample(benchmark, cmi_sim, spec, machine):
    """The pure-Python reference (what the C bridge transcribes), sample by sample."""
    train = cmi_sim.train
    ids = train["sequence_id"].unique(maintain_order=True).head(REFERENCE_SEQUENCES)
    handedness = dict(zip(cmi_sim.demographics["subject"], cmi_sim.demographics["handedness"]))
    sequences = []
    for sid in ids:
        rows = train.filter(pl.col("sequence_id") == sid).sort("sequence_counter")
        values = rows.select(pl.col(c).cast(pl.Float64).fill_null(float("nan")) for c in spec.input_columns())
        sequences.append((handedness[rows["subject"][0]], values.to_numpy()))
    samples = sum(len(v) for _, v in sequences)

    def run() -> None:
        for hand, values in sequences:
            StreamingFeatures(spec, handedness=hand).push_many(values)

    benchmark.name = "python StreamingFeatures"
    benchmark.extra_info.update({**table_info(train, spec, machine), "reference_sequences": len(sequences),
                                 "reference_samples": samples})
    benchmark.pedantic(run, rounds=5, iterations=1, warmup_rounds=1)
    if benchmark.stats is not None:
        benchmark.extra_info["us_per_sample_median"] = round(benchmark.stats.stats.median / samples * 1e6, 1)


def real_cmi_table(shared_data: Path) -> Path:
    for name in ("train.parquet", "train.csv"):
        if (shared_data / "cmi" / name).is_file():
            return shared_data / "cmi" / name
    pytest.skip(f"no real CMI table under {shared_data / 'cmi'} (train.parquet or train.csv): simulator only")


@pytest.mark.benchmark(group="features cmi_default: real CMI train (Polars only)")
def test_features_polars_real_cmi(benchmark, shared_data, spec, machine):
    from edgekit.data.simulator import read_simulation

    path = real_cmi_table(shared_data)
    train = read_simulation(path)
    demographics = pl.read_csv(path.with_name("train_demographics.csv"))
    benchmark.name = "polars compute_features (real)"
    benchmark.extra_info.update({**table_info(train, spec, machine), "data": str(path)})
    out = benchmark.pedantic(compute_features, args=(train, spec), kwargs={"handedness": demographics},
                             rounds=POLARS_ROUNDS, iterations=1, warmup_rounds=1)
    assert np.isfinite(out.select(spec.names()).to_numpy()).all()
