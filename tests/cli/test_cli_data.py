"""The `edgekit data` commands, end to end through Click (the demo: tests/cli/test_demo.py)."""

from __future__ import annotations

import json

import polars as pl
from click.testing import CliRunner

from edgekit.cli import main
from edgekit.data import cmi_schema


def _run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_simulate_inspect_features_round_trip(tmp_path):
    train = tmp_path / "sim" / "train.parquet"
    result = _run("data", "simulate", "--sequences", "40", "--seed", "3", "--out", str(train), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["sequences"] == 40
    frame = pl.read_parquet(train)
    assert tuple(frame.columns) == cmi_schema.TRAIN_COLUMNS
    assert (tmp_path / "sim" / "train_demographics.csv").exists()

    result = _run("data", "inspect", str(train), "--json")
    assert result.exit_code == 0, result.output
    inspected = json.loads(result.output)
    assert inspected["sequences"] == 40

    out = tmp_path / "features.parquet"
    result = _run("data", "features", str(train), "--out", str(out), "--json")
    assert result.exit_code == 0, result.output
    feats = json.loads(result.output)
    table = pl.read_parquet(out)
    assert table.height == frame.height
    assert feats["features"] == len(feats["feature_names"]) > 10
    for name in feats["feature_names"]:
        assert name in table.columns
    spec = json.loads((tmp_path / "features.spec.json").read_text())
    assert spec  # written next to the table


def test_inspect_human_output(tmp_path):
    train = tmp_path / "train.csv"
    assert _run("data", "simulate", "--sequences", "20", "--out", str(train)).exit_code == 0
    result = _run("data", "inspect", str(train))
    assert result.exit_code == 0
    assert "sequences" in result.output


def test_user_mistakes_are_one_line_errors(tmp_path):
    bad = tmp_path / "table.csv"
    bad.write_text("sequence_id,acc_x\n")
    result = CliRunner().invoke(main, ["data", "features", str(bad), "--out", str(tmp_path / "f.parquet")])
    assert result.exit_code == 2
    assert result.output.startswith("error: ")
    assert "Traceback" not in result.output

    result = CliRunner().invoke(main, ["data", "simulate", "--out", str(tmp_path / "x.txt")])
    assert result.exit_code == 2
    assert ".txt" in result.output
