"""What a user gets from `pip install edgekit`: the wheel, installed non-editable into a fresh
virtual environment, run from a folder outside the repository.

The wheel must carry everything its commands read (recipes, export profiles, the C bridge's
sources, CMake files and golden vectors), the commands must find them through
`importlib.resources`, and nothing may be written into the installed package: every file of
site-packages is fingerprinted before and after the commands run.

torch comes from the local wheel pip already knows (`pip install torch==2.13.0`, no download);
the other dependencies come from pip's cache. `EDGEKIT_WHEELHOUSE` (a folder of wheels) installs
everything from it with `--no-index`, for offline machines.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.tools import require_tool

pytestmark = pytest.mark.slow


def _run(args: list[str], *, cwd: Path, env: dict | None = None, timeout: int = 900) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout, env={**base, **(env or {})})
    assert proc.returncode == 0, f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    return proc


@pytest.fixture(scope="module")
def installed(edgekit_wheel, tmp_path_factory) -> Path:
    """A fresh venv (no system site packages) with the wheel and its train extra."""
    venv = tmp_path_factory.mktemp("wheel_venv") / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=venv.parent)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    wheelhouse = os.environ.get("EDGEKIT_WHEELHOUSE")
    if wheelhouse:
        pip += ["--no-index", "--find-links", wheelhouse]
    _run(pip + ["torch==2.13.0"], cwd=venv.parent)
    _run(pip + [f"{edgekit_wheel}[train]"], cwd=venv.parent)
    return venv


def test_wheel_carries_the_data_folders(edgekit_wheel):
    wheel = edgekit_wheel
    names = zipfile.ZipFile(wheel).namelist()
    assert "edgekit/recipes/sim/quickstart.toml" in names
    assert "edgekit/export_profiles/cpu-int8.toml" in names
    for part in ("CMakeLists.txt", "CMakePresets.json", "include/edgekit_bridge.h", "src/ek_bridge.c",
                 "targets/cortex-m4/startup.c", "targets/cortex-m4/mps2_an386.ld", "fuzz/fuzz_bridge.c",
                 "golden/ek_spec_cmi.h", "golden/cmi.bin"):
        assert f"edgekit/firmware_bridge/{part}" in names, part
    assert any(n.startswith("edgekit-0.1.0.dist-info/licenses/LICENSE") for n in names)
    assert any(n.startswith("edgekit/bridge/_ek_bridge") and n.endswith(".abi3.so") for n in names)
    assert "-abi3-" in wheel.name
    assert not [n for n in names if n.startswith(("tests/", "bench/", "recipes/", "export/"))]


def _fingerprint(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_installed_commands_work_outside_the_repository(installed, tmp_path):
    site = next((installed / "lib").glob("python3*/site-packages"))
    before = _fingerprint(site)
    edgekit = str(installed / "bin" / "edgekit")
    work = tmp_path / "user"
    work.mkdir()
    env = {"EDGEKIT_CACHE_DIR": str(tmp_path / "cache")}

    where = _run([str(installed / "bin" / "python"), "-c", "import edgekit; print(edgekit.__file__)"], cwd=work)
    assert where.stdout.strip().startswith(str(site))  # the wheel, not the checkout

    _run([edgekit, "demo", "--quick", "--sequences", "120", "--out", "demo", "--json"], cwd=work, env=env)
    run_dir = work / "demo" / "run"
    exported = json.loads(_run([edgekit, "export", str(run_dir), "--int8", "--json"], cwd=work, env=env).stdout)
    assert Path(exported["int8"]["path"]).is_file() and exported["int8"]["parity"]

    _run([edgekit, "recipes", "cp", "sim/quickstart", "."], cwd=work, env=env)
    assert (work / "quickstart.toml").read_text().startswith("# edgekit train --recipe")
    assert "sim/quickstart" in _run([edgekit, "recipes", "list"], cwd=work, env=env).stdout

    require_tool("cmake")
    built = json.loads(_run([edgekit, "bridge", "build", "--target", "host", "--out", "bridge", "--json"],
                            cwd=work, env=env).stdout)
    assert built["golden_test"].startswith(str(work / "bridge"))
    require_tool("arm-none-eabi-gcc")
    size = json.loads(_run([edgekit, "bridge", "size", "--json"], cwd=work, env=env).stdout)
    assert 0 < size["flash_bytes"] <= 16384 and size["ram_per_stream_bytes"] > 0
    assert Path(size["build_dir"]).is_relative_to(tmp_path / "cache")  # no --out: the user cache

    after = _fingerprint(site)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"commands wrote into site-packages: {changed[:20]}"
