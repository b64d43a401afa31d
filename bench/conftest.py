"""Shared fixtures of the benchmarks: where the real data lives, what machine this is.

`shared_data` is the test suite's fixture (`tests/conftest.py`: `../shared/data`, or
`EDGEKIT_SHARED_DATA`; skips saying where it looked). The machine description
(`edgekit.runtime.machine`) goes into each benchmark's `extra_info`, and the JSON written with
`--benchmark-json` gets a `speedups` entry: within each group, every benchmark's median against
the fastest one's.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests/ is not installed; its conftest holds the one shared_data fixture

from tests.conftest import shared_data  # noqa: E402,F401  (a fixture: pytest finds it here)


@pytest.fixture(scope="session")
def machine() -> dict:
    """CPU, usable cores, library versions and the size of Polars' thread pool."""
    import polars

    from edgekit.runtime.machine import machine_info

    return {**machine_info(("numpy", "polars", "pandas", "scipy")), "polars_threads": polars.thread_pool_size()}


def group_speedups(benchmarks) -> dict[str, dict[str, float]]:
    """{group: {name: median / fastest median}} for groups with more than one benchmark."""
    groups: dict[str, dict[str, float]] = {}
    for bench in benchmarks:
        if bench.stats is not None and bench.stats.rounds:
            groups.setdefault(bench.group or "", {})[bench.name] = bench.stats.median
    result = {}
    for group, medians in groups.items():
        if len(medians) > 1:
            fastest = min(medians.values())
            result[group] = {name: round(median / fastest, 2) for name, median in medians.items()}
    return result


def pytest_benchmark_update_json(config, benchmarks, output_json):
    output_json["speedups"] = group_speedups(benchmarks)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    session = getattr(config, "_benchmarksession", None)
    speedups = group_speedups(session.benchmarks) if session is not None else {}
    for group, ratios in speedups.items():
        terminalreporter.write_line(f"median / fastest median in {group!r}: "
                                    + ", ".join(f"{name} {ratio:g}x" for name, ratio in ratios.items()))
