"""Fixtures for the whole suite: where the real data sets live, and the wheel users install.

`../shared/data` next to the repository (`EDGEKIT_SHARED_DATA` overrides it) is there for
developers and CI but not for users, so a test that needs it skips, saying where it looked.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    return Path(os.environ.get("EDGEKIT_SHARED_DATA", REPO.parent / "shared" / "data"))


def shared_file(relative: str) -> Path:
    """`relative` under the shared data folder; the calling test skips when it is absent."""
    path = shared_data_dir() / relative
    if not path.exists():
        pytest.skip(f"no {relative} at {path} (set EDGEKIT_SHARED_DATA to the folder that holds it)")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder (`../shared/data` or `EDGEKIT_SHARED_DATA`)."""
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"no shared data at {path} (set EDGEKIT_SHARED_DATA to use another folder)")
    return path


@pytest.fixture(scope="session")
def uci_har_path(shared_data) -> Path:
    """`uci_har/uci_har.npz` (X/y/subject for train, test and test_exact); its `uci_har.json` lies beside it."""
    return shared_file("uci_har/uci_har.npz")


@pytest.fixture(scope="session")
def edgekit_wheel(tmp_path_factory) -> Path:
    """The wheel `pip wheel .` builds from this checkout, built once per session: what users install
    (tests/test_wheel.py, tests/runtime/test_torch_free.py)."""
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out),
                           str(REPO)], cwd=out, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"pip wheel failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    (built,) = out.glob("edgekit-*.whl")
    return built
