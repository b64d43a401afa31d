"""Shared fixtures of the benchmarks: where the real data lives, what machine this is.

`../shared/data` (next to the repository; `EDGEKIT_SHARED_DATA` overrides it) is present for
developers and CI but not for users, so every fixture that needs it skips, saying what it looked
for. The machine description goes into each benchmark's `extra_info`, and the JSON written with
`--benchmark-json` gets a `speedups` entry: within each group, every benchmark's median against
the fastest one's.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    return Path(os.environ.get("EDGEKIT_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"no shared data at {path} (set EDGEKIT_SHARED_DATA to use another folder)")
    return path


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict:
    """CPU, cores this process may use, Polars' thread pool and library versions."""
    import numpy
    import polars

    info = {"cpu": cpu_model(), "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
            else os.cpu_count(), "polars_threads": polars.thread_pool_size(), "python": platform.python_version(),
            "numpy": numpy.__version__, "polars": polars.__version__}
    for name in ("pandas", "scipy"):
        try:
            info[name] = __import__(name).__version__
        except ImportError:
            info[name] = None
    return info


@pytest.fixture(scope="session")
def machine() -> dict:
    return machine_info()


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
