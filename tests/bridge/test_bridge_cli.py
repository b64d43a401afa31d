"""`edgekit bridge golden|size|build` through Click: each writes under its --out (or the user cache
when none is given) and nowhere else: not the sources, not the working directory."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from edgekit.cli.bridge import bridge
from edgekit.resources import bridge_dir
from tests.tools import require_tool


def _fingerprint(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """Run from an empty working directory with the user cache in tmp_path/cache; afterwards,
    the C sources must be exactly as before."""
    monkeypatch.setenv("EDGEKIT_CACHE_DIR", str(tmp_path / "cache"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    sources = _fingerprint(bridge_dir())
    yield work
    assert _fingerprint(bridge_dir()) == sources, "a bridge command wrote into firmware_bridge/"


def _invoke(*args: str) -> dict:
    result = CliRunner().invoke(bridge, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _written(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def test_golden_writes_only_under_out(isolated, tmp_path):
    out = tmp_path / "vectors"
    report = _invoke("golden", "--out", str(out))
    assert {p.name for p in out.iterdir()} == {"cmi.bin", "uci.bin", "kitchen.bin", "ek_spec_cmi.h",
                                               "ek_spec_uci.h", "ek_spec_kitchen.h"}
    assert report["out_dir"] == str(out) and report["total_bytes"] < 300_000
    assert not _written(isolated) and not _written(tmp_path / "cache")


def test_golden_without_out_writes_to_the_user_cache(isolated, tmp_path):
    report = _invoke("golden")
    assert Path(report["out_dir"]) == tmp_path / "cache" / "golden"
    assert {Path(f["path"]) for f in report["files"]} == _written(tmp_path / "cache")
    assert not _written(isolated)


def test_size_report_meets_the_goals_and_builds_in_the_cache(isolated, tmp_path):
    for tool in ("cmake", "arm-none-eabi-gcc"):
        require_tool(tool)
    report = _invoke("size")
    assert 0 < report["flash_bytes"] <= 16 * 1024
    assert 0 < report["ram_per_stream_bytes"] <= 2 * 1024
    assert report["stack_bytes_push"] > 0
    assert Path(report["build_dir"]) == tmp_path / "cache" / "bridge" / "size"
    assert not _written(isolated)


def test_build_host_runs_golden_and_writes_only_under_out(isolated, tmp_path):
    require_tool("cmake")
    out = tmp_path / "out"
    report = _invoke("build", "--target", "host", "--run", "--out", str(out))
    assert report["golden_exit_status"] == 0
    assert report["build_dir"] == str(out / "bridge-host")
    for key in ("static_library", "shared_library", "golden_test"):
        assert Path(report[key]).is_file() and Path(report[key]).is_relative_to(out), key
    assert not _written(isolated) and not _written(tmp_path / "cache")
    assert os.access(report["golden_test"], os.X_OK)
