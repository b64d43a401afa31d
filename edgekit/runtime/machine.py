"""What a measurement ran on: CPU model, usable cores, Python and library versions (torch-free).

Every benchmark records this with its numbers (`edgekit bench`, the pytest-benchmark suites in
`bench/`) and the tables print it with `describe_machine`, so a result never travels without the
machine it was measured on. Versions come from the installed distributions' metadata, so naming a
library does not import it; one that is not installed is recorded as None.
"""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Sequence

# Shown in this order by `describe_machine`; anything else in the dict is left to the caller.
VERSION_KEYS = ("python", "edgekit", "numpy", "polars", "pandas", "scipy", "onnx", "onnxruntime", "torch")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def usable_cores() -> int:
    """Cores this process may run on (its affinity mask in a container or under taskset)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def version_of(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def machine_info(libraries: Sequence[str] = ("numpy",)) -> dict:
    """{"cpu", "cores", "platform", "python", "edgekit", <each library>: version or None}."""
    from edgekit import __version__

    info = {"cpu": cpu_model(), "cores": usable_cores(), "platform": platform.platform(),
            "python": platform.python_version(), "edgekit": __version__}
    info.update({name: version_of(name) for name in libraries})
    return info


def describe_machine(info: dict) -> str:
    """One line for a table's caption: `CPU, N cores; python 3.12.1, numpy 2.1.0, ...`."""
    where = ", ".join(p for p in (info.get("cpu"), f"{info['cores']} cores" if info.get("cores") else None) if p)
    versions = ", ".join(f"{k} {info[k]}" for k in VERSION_KEYS if info.get(k))
    return "; ".join(p for p in (where, versions) if p)


def usable_memory_bytes() -> int:
    """Physical memory, or the cgroup (container) limit when that is smaller; 8 GiB when unknown."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not POSIX
        total = 8 * 2**30
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        return min(total, int(limit)) if limit.isdigit() else total
    except OSError:
        return total
