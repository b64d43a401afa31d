"""The C feature bridge per sample, default spec (`FeatureSpec.cmi_default()`, 332 inputs,
101 features): the binding's block call and single push, the C micro-benchmark
(firmware_bridge/bench/bench_bridge.c, gcc -O2) and the pure-Python streaming reference, on the
same simulated stream; plus instructions per sample under callgrind where valgrind exists.

    .venv/bin/python -m pytest bench/test_bench_bridge.py --benchmark-columns=min,median,max,rounds

Goals (the issue's; not asserted, tests never assert on wall-clock time): <= 0.5 us per sample
and >= 100x the Python reference. `extra_info.ns_per_sample` holds the per-sample figure.
"""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest

from edgekit.bridge import Bridge, toolchain
from edgekit.bridge.golden import frame_samples
from edgekit.features import FeatureSpec, StreamingFeatures

GROUP = "bridge cmi_default, per sample"
BLOCK_SAMPLES = 4096
PUSH_SAMPLES = 512
REFERENCE_SAMPLES = 128


@pytest.fixture(scope="module")
def stream() -> np.ndarray:
    """Simulated sequences (with their faults) concatenated into one stream of float32 samples."""
    from edgekit.data.simulator import simulate

    spec = FeatureSpec.cmi_default()
    sim = simulate(80, seed=3)
    parts = [frame_samples(part, spec) for _, part in sim.train.sort("sequence_id", "sequence_counter")
             .group_by("sequence_id", maintain_order=True)]
    x = np.concatenate(parts)
    return np.resize(x, (BLOCK_SAMPLES, x.shape[1])).astype(np.float32)


def per_sample(benchmark, n: int, machine: dict, **info) -> None:
    benchmark.extra_info.update({"samples_per_call": n, "spec": "cmi_default", **machine, **info})


@pytest.mark.benchmark(group=GROUP)
def test_bridge_block_call(benchmark, stream, machine):
    bridge = Bridge(FeatureSpec.cmi_default())
    benchmark.name = "C via binding, push_block"
    out = benchmark(bridge.push_block, stream)
    assert out.shape == (BLOCK_SAMPLES, 101)
    per_sample(benchmark, BLOCK_SAMPLES, machine)
    benchmark.extra_info["ns_per_sample"] = benchmark.stats.stats.median / BLOCK_SAMPLES * 1e9


@pytest.mark.benchmark(group=GROUP)
def test_bridge_single_push(benchmark, stream, machine):
    bridge = Bridge(FeatureSpec.cmi_default())
    rows = list(stream[:PUSH_SAMPLES])
    benchmark.name = "C via binding, push per sample"
    benchmark(lambda: [bridge.push(r) for r in rows])
    per_sample(benchmark, PUSH_SAMPLES, machine)
    benchmark.extra_info["ns_per_sample"] = benchmark.stats.stats.median / PUSH_SAMPLES * 1e9


@pytest.mark.benchmark(group=GROUP)
def test_python_reference(benchmark, stream, machine):
    spec = FeatureSpec.cmi_default()
    x = stream[:REFERENCE_SAMPLES].astype(np.float64)
    benchmark.name = "python StreamingFeatures"
    benchmark.pedantic(lambda: StreamingFeatures(spec).push_many(x), rounds=3, iterations=1)
    per_sample(benchmark, REFERENCE_SAMPLES, machine)
    benchmark.extra_info["ns_per_sample"] = benchmark.stats.stats.median / REFERENCE_SAMPLES * 1e9


@pytest.mark.skipif(toolchain.which("cmake") is None or toolchain.which("gcc") is None,
                    reason=f"cmake or gcc not installed ({toolchain.install_hint('cmake')} gcc)")
@pytest.mark.benchmark(group=GROUP)
def test_c_microbenchmark(benchmark, machine, tmp_path):
    exe = toolchain.build_host_bench(tmp_path)
    n = 200_000
    benchmark.name = "C micro-benchmark (gcc -O2), 200k samples"
    proc = benchmark.pedantic(lambda: subprocess.run([str(exe), str(n), "3"], capture_output=True, text=True,
                                                     check=True), rounds=1, iterations=1)
    ns = float(re.search(r"ns_per_sample ([\d.]+)", proc.stdout).group(1))
    per_sample(benchmark, n, machine, ns_per_sample=ns)
    if toolchain.which("valgrind"):
        benchmark.extra_info["instructions_per_sample"] = round(toolchain.instructions_per_sample(exe))
