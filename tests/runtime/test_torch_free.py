"""The runtime without torch: a fresh virtual environment with the package and its runtime
dependencies only (no `train` extra) runs `edgekit stream` and `edgekit bench` on models exported
earlier in this session, and cannot import torch.

The venv is a real one (`python -m venv`, no system site packages, which would see torch); `pip
install <the session's wheel>` (the `edgekit_wheel` fixture) fetches the runtime dependencies from PyPI (pip's cache makes reruns quick).
Offline: set `EDGEKIT_WHEELHOUSE` to a folder of wheels (`pip download .` fills one) to install
from it with `--no-index`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _run(args: list[str], timeout: int = 600, **kwargs) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env, **kwargs)


@pytest.fixture(scope="module")
def runtime_venv(edgekit_wheel, tmp_path_factory) -> Path:
    venv = tmp_path_factory.mktemp("torch_free") / "venv"
    made = _run([sys.executable, "-m", "venv", str(venv)])
    assert made.returncode == 0, made.stderr
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    wheelhouse = os.environ.get("EDGEKIT_WHEELHOUSE")
    if wheelhouse:
        pip += ["--no-index", "--find-links", wheelhouse]
    installed = _run(pip + [str(edgekit_wheel)], cwd=venv.parent)
    assert installed.returncode == 0, f"pip install {edgekit_wheel.name} failed:\n{installed.stdout[-2000:]}\n{installed.stderr[-4000:]}"
    return venv


def test_runtime_runs_without_torch(runtime_venv, sim_export, tmp_path):
    python, edgekit = runtime_venv / "bin" / "python", runtime_venv / "bin" / "edgekit"
    no_torch = _run([str(python), "-c", "import torch"], cwd=tmp_path)
    assert no_torch.returncode != 0 and "No module named 'torch'" in no_torch.stderr
    imports = _run([str(python), "-c", "import sys, edgekit.cli, edgekit.runtime.stream, edgekit.runtime.bench; "
                    "assert 'torch' not in sys.modules; print(edgekit.cli.__file__)"], cwd=tmp_path)
    assert imports.returncode == 0, imports.stderr
    assert str(runtime_venv) in imports.stdout  # the installed package, not the checkout

    stream = _run([str(edgekit), "stream", str(sim_export.step), "--input", str(sim_export.table), "--hop", "16",
                   "--json"], cwd=tmp_path)
    assert stream.returncode == 0, stream.stderr
    summary = json.loads(stream.stdout.strip().splitlines()[-1])
    assert summary["type"] == "summary" and summary["mode"] == "step" and summary["sequences"] == 12
    assert summary["latency_us"]["p50"] > 0

    out = tmp_path / "bench.json"
    bench = _run([str(edgekit), "bench", str(sim_export.window), str(sim_export.int8), str(sim_export.step),
                  "--runs", "5", "--warmup", "1", "--out", str(out), "--plot", str(tmp_path / "bench.png")],
                 cwd=tmp_path)
    assert bench.returncode == 0, bench.stderr
    rows = json.loads(out.read_text())["rows"]
    assert [r["precision"] for r in rows] == ["fp32", "int8", "fp32"] and all(r["macs"] > 0 for r in rows)
    assert (tmp_path / "bench.png").stat().st_size > 0
