"""`edgekit stream` on corrupt input: a value outside a sensor's physical range is missing for the
bridge (spec.py's NaN policy) and reported as an `out_of_range` issue; a prediction is never NaN,
and when the model itself gives non-finite logits the prediction is skipped with an issue."""

from __future__ import annotations

import json
import math

import numpy as np
import polars as pl
from click.testing import CliRunner

from edgekit.cli import main
from edgekit.runtime.sources import read_samples
from edgekit.runtime.stream import StreamOptions, Streamer

F32_MAX = float(np.finfo(np.float32).max)
# (column, value) put into row 10 of the first sequences; the denormal is an ordinary value
CORRUPTIONS = (("acc_x", 1e30), ("acc_y", -1e30), ("rot_w", 1e38), ("thm_1", -1e38), ("acc_z", F32_MAX),
               ("rot_x", 1e-40))
OUT_OF_RANGE = 5


def test_huge_samples_give_issues_and_finite_predictions(sim_export, tmp_path):
    frame = pl.read_parquet(sim_export.table)
    ids = frame.get_column("sequence_id").unique(maintain_order=True).to_list()
    for sid, (column, value) in zip(ids, CORRUPTIONS):
        at = (pl.col("sequence_id") == sid) & (pl.col("sequence_counter") == 10)
        frame = frame.with_columns(pl.when(at).then(pl.lit(value, pl.Float32)).otherwise(pl.col(column)).alias(column))
    path = tmp_path / "corrupt.parquet"
    frame.write_parquet(path)
    result = CliRunner().invoke(main, ["stream", str(sim_export.window), "--input", str(path), "--hop", "4", "--json"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    predictions = [r for r in records if r["type"] == "prediction"]
    assert predictions and all(math.isfinite(p["probability"]) and all(map(math.isfinite, p["logits"]))
                               for p in predictions)
    issues = [r for r in records if r["type"] == "issue" and r["kind"] == "out_of_range"]
    assert len(issues) == OUT_OF_RANGE and records[-1]["issues"]["out_of_range"] == OUT_OF_RANGE
    assert all(r["where"] == "row" for r in issues)
    assert "acc_x=1e+30" in issues[0]["message"] and "physical range" in issues[0]["message"]
    finals = {f["sequence"]: f for f in records[-1]["finals"]}
    assert set(finals) == set(ids) and all(math.isfinite(f["probability"]) for f in finals.values())


def test_non_finite_logits_skip_the_prediction_with_an_issue(sim_export, monkeypatch):
    def stream(streamer: Streamer):
        predictions, issues = [], []
        summary = streamer.run(read_samples(sim_export.table, streamer.input_columns, streamer.sample_period_s),
                               on_prediction=predictions.append, on_issue=issues.append)
        return summary, predictions, issues

    baseline, _, _ = stream(Streamer(sim_export.window, StreamOptions(hop=4)))
    streamer = Streamer(sim_export.window, StreamOptions(hop=4))
    run, calls = streamer.session.run, []

    def broken_once(x):  # the second model run returns NaN, as an overflowing model would
        calls.append(1)
        out = run(x)
        return np.full_like(out, np.nan) if len(calls) == 2 else out

    monkeypatch.setattr(streamer.session, "run", broken_once)
    summary, predictions, issues = stream(streamer)
    assert all(np.isfinite(p.probability) and np.isfinite(p.logits).all() for p in predictions)
    assert summary.predictions == baseline.predictions - 1 == len(predictions)
    assert summary.issues.get("non_finite_logits") == 1
    assert [i.kind for i in issues] == ["non_finite_logits"] and "non-finite logits" in issues[0].message
