"""`edgekit bridge golden|size|build` through Click."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from edgekit.bridge import toolchain
from edgekit.cli.bridge import bridge


def test_golden_writes_vectors(tmp_path):
    result = CliRunner().invoke(bridge, ["golden", "--out", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert {p.name for p in tmp_path.iterdir()} >= {"cmi.bin", "uci.bin", "kitchen.bin", "ek_spec_cmi.h"}
    assert report["total_bytes"] < 300_000


@pytest.mark.skipif(toolchain.which("arm-none-eabi-gcc") is None,
                    reason=f"arm-none-eabi-gcc not installed (apt-get install {toolchain.CROSS_PACKAGES})")
def test_size_report_meets_the_goals(tmp_path):
    result = CliRunner().invoke(bridge, ["size", "--json", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert 0 < report["flash_bytes"] <= 16 * 1024
    assert 0 < report["ram_per_stream_bytes"] <= 2 * 1024


@pytest.mark.skipif(toolchain.which("gcc") is None or toolchain.which("cmake") is None, reason="gcc/cmake missing")
def test_build_host_runs_golden(tmp_path):
    result = CliRunner().invoke(bridge, ["build", "--target", "host", "--run", "--out", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["golden_exit_status"] == 0
