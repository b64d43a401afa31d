"""`edgekit stream`: streaming = offline on simulator and UCI-HAR streams, the input policy, smoothing, CLI."""

from __future__ import annotations

import io
import json

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from edgekit.cli import main
from edgekit.errors import EdgekitError
from edgekit.features import FeatureSpec, compute_features
from edgekit.runtime.session import ModelSession, SpecMismatchError
from edgekit.runtime.smoothing import Ema, SmoothingSpec, Vote
from edgekit.runtime.sources import Issue, Sample, read_samples
from edgekit.runtime.stream import StreamOptions, Streamer

STEP_TOLERANCE = 1e-5  # fp32 step logits vs the offline causal forward, relative to the logit scale


def _stream_finals(model, source, **options):
    streamer = Streamer(model, StreamOptions(**options))
    finals, issues = {}, []
    summary = streamer.run(read_samples(source, streamer.input_columns, streamer.sample_period_s),
                           on_prediction=lambda p: finals.__setitem__(p.sequence, p) if p.final else None,
                           on_issue=issues.append)
    return streamer, finals, summary, issues


def _offline(frame: pl.DataFrame, spec: FeatureSpec, handedness: pl.DataFrame | None) -> dict[str, np.ndarray]:
    """Per sequence, the Polars batch features (the training pipeline's)."""
    feats = compute_features(frame, spec, handedness=handedness)
    return {key[0]: g.select(spec.names()).to_numpy().astype(np.float32)
            for key, g in feats.group_by("sequence_id", maintain_order=True)}


def _check_equal(model, window_model, source, offline: dict[str, np.ndarray], step: bool) -> dict:
    streamer, finals, summary, issues = _stream_finals(model, source, hop=7)
    assert set(finals) == set(offline) and summary.sequences == len(offline)
    window = ModelSession(window_model)
    agree, worst, scale = 0, 0.0, 1.0
    for sid, x in offline.items():
        if not step:
            x = x[-streamer.window:]  # window mode: the same last window
        want = window.run(x[None])[0]
        got = finals[sid].logits
        worst = max(worst, float(np.abs(got - want).max()))
        scale = max(scale, float(np.abs(want).max()))
        agree += int(np.argmax(got) == np.argmax(want))
    assert agree == len(offline), f"final predictions agree on {agree}/{len(offline)} sequences"
    # a step model sums its running means one sample at a time: float rounding grows with the logits
    assert worst <= (STEP_TOLERANCE if step else 1e-4) * scale, (worst, scale)
    return {"sequences": len(offline), "max_abs_diff": worst, "latency_us": summary.latency_us}


@pytest.mark.parametrize("kind", ["window", "step"])
def test_stream_equals_offline_on_simulator(sim_export, kind):
    model = sim_export.window if kind == "window" else sim_export.step
    frame = pl.read_parquet(sim_export.table)
    spec = FeatureSpec.from_json(ModelSession(model).metadata.feature_spec_json)
    hands = frame.select("sequence_id", "handedness").unique("sequence_id")
    assert set(hands["handedness"].to_list()) == {0, 1}  # both hands: the bridge mirrors per sequence
    offline = _offline(frame.drop("handedness"), spec, hands)
    _check_equal(model, sim_export.window, sim_export.table, offline, step=kind == "step")


@pytest.mark.parametrize("kind", ["window", "step"])
def test_stream_equals_offline_on_uci_har(uci_models, tmp_path, kind):
    folder, window, step, raw = uci_models
    frame = raw.to_long_frame()
    frame = frame.with_columns((pl.col("sequence_counter") * 0.02).alias("time")).drop("sequence_counter")
    path = tmp_path / "uci_stream.csv"
    frame.write_csv(path)  # the CSV reader, time in seconds
    spec = FeatureSpec.uci_har_default()
    offline = _offline(raw.to_long_frame(), spec, None)
    _check_equal(step if kind == "step" else window, window, path, offline, step=kind == "step")


def test_window_mode_runs_every_hop_and_at_the_end(sim_export):
    streamer, finals, summary, _ = _stream_finals(sim_export.window, sim_export.table, hop=10)
    lengths = pl.read_parquet(sim_export.table).group_by("sequence_id").len()["len"].to_numpy()
    expected = int(sum(n // 10 + (n % 10 != 0) for n in lengths))
    assert summary.mode == "window" and summary.model_runs == expected
    assert summary.samples == lengths.sum() and summary.latency_us["p99"] >= summary.latency_us["p50"] > 0
    _, _, step_summary, _ = _stream_finals(sim_export.step, sim_export.table, hop=10)
    assert step_summary.mode == "step" and step_summary.model_runs == lengths.sum()  # once per sample


def test_spec_hash_mismatch_is_refused_naming_both(sim_export):
    other = FeatureSpec.uci_har_default()
    model_hash = ModelSession(sim_export.window).metadata.feature_spec_hash
    with pytest.raises(SpecMismatchError) as err:
        Streamer(sim_export.window, spec=other)
    assert model_hash in str(err.value) and other.hash() in str(err.value)


def test_spec_hash_mismatch_cli(sim_export, tmp_path):
    spec_path = tmp_path / "device_spec.json"
    spec_path.write_text(FeatureSpec.uci_har_default().to_json())
    result = CliRunner().invoke(main, ["stream", str(sim_export.window), "--input", str(sim_export.table),
                                       "--spec", str(spec_path)])
    assert result.exit_code == 2
    assert FeatureSpec.uci_har_default().hash() in result.output
    assert ModelSession(sim_export.window).metadata.feature_spec_hash in result.output


def _policy_csv(spec: FeatureSpec) -> str:
    cols = spec.input_columns()
    good = ",".join(["0.1"] * len(cols))
    lines = ["sequence_id,time," + ",".join(cols)]  # line 1
    lines += [f"s1,{t * 0.02:.2f},{good}" for t in range(5)]  # lines 2-6
    lines.append("s1,0.12,1,2")  # line 7: wrong field count
    lines.append(f"s1,0.12,abc{good[3:]}")  # line 8: not a number
    lines.append(f"s1,oops,{good}")  # line 9: bad time
    lines.append(f"s1,0.04,{good}")  # line 10: out of order
    lines.append(f"s1,0.10,{','.join(['nan'] * len(cols))}")  # line 11: a NaN sample
    lines.append(f"s1,0.18,{good}")  # line 12: 3 missing samples -> filled
    lines.append(f"s1,5.00,{good}")  # line 13: long gap -> restart
    lines.append(f"s1,5.02,{good}")  # line 14
    lines.append("")  # blank line: ignored
    lines.append(f"s2,0.00,{good}")  # line 16: a new sequence
    return "\n".join(lines) + "\n"


def test_input_policy_reports_lines_and_never_crashes(sim_export):
    streamer = Streamer(sim_export.step)
    text = _policy_csv(streamer.bridge.spec)
    events = list(read_samples(io.StringIO(text), streamer.input_columns, streamer.sample_period_s))
    issues = [(e.line, e.kind) for e in events if isinstance(e, Issue)]
    assert issues == [(7, "malformed"), (8, "malformed"), (9, "malformed"), (10, "out_of_order"), (12, "gap"),
                      (13, "gap_restart")]
    samples = [e for e in events if isinstance(e, Sample)]
    assert sum(s.filled for s in samples) == 3 and [s.segment for s in samples if s.sequence == "s1"][-1] == 1
    summary = streamer.run(iter(events))
    assert summary.samples == len(samples) == 13 and summary.filled_samples == 3 and summary.nan_samples == 1
    assert summary.sequences == 3  # s1, s1 after the restart, s2
    assert summary.issues == {"malformed": 3, "out_of_order": 1, "gap": 1, "gap_restart": 1}


def test_cli_stdin_json_lines_and_issues(sim_export):
    spec = Streamer(sim_export.window).bridge.spec
    result = CliRunner().invoke(main, ["stream", str(sim_export.window), "--input", "-", "--hop", "2",
                                       "--smooth", "vote:3", "--json"], input=_policy_csv(spec))
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    kinds = [r["type"] for r in records]
    assert kinds[-1] == "summary" and "prediction" in kinds
    assert {r["line"] for r in records if r["type"] == "issue" and r["kind"] == "malformed"} == {7, 8, 9}
    preds = [r for r in records if r["type"] == "prediction"]
    assert preds and all(isinstance(p["smoothed_label"], str) for p in preds)
    assert records[-1]["latency_us"]["p50"] > 0 and records[-1]["sequences"] == 3


def test_cli_text_output_and_missing_columns(sim_export, tmp_path):
    result = CliRunner().invoke(main, ["stream", str(sim_export.step), "--input", str(sim_export.table),
                                       "--hop", "16", "--smooth", "ema:0.3"])
    assert result.exit_code == 0, result.output
    assert "[end of sequence]" in result.output and "latency per sample p50 / p99" in result.output
    bad = tmp_path / "no_acc.csv"
    bad.write_text("sequence_id,acc_x\ns,1\n")
    result = CliRunner().invoke(main, ["stream", str(sim_export.step), "--input", str(bad)])
    assert result.exit_code == 2 and "acc_y" in result.output


def test_smoothing():
    ema = SmoothingSpec.parse("ema:0.5").make()
    assert isinstance(ema, Ema)
    ema.update(np.array([1.0, 0.0]))
    k, p = ema.update(np.array([0.0, 1.0]))
    assert (k, p) == (0, 0.5)  # tie: argmax keeps the first
    vote = SmoothingSpec.parse("vote:3").make()
    assert isinstance(vote, Vote)
    for probs in ([0.9, 0.1], [0.2, 0.8], [0.3, 0.7]):
        k, p = vote.update(np.array(probs))
    assert k == 1 and p == pytest.approx((0.1 + 0.8 + 0.7) / 3)
    for bad in ("ema:0", "ema:2", "vote:0", "vote:2.5", "median:3", "ema"):
        with pytest.raises(EdgekitError, match="--smooth"):
            SmoothingSpec.parse(bad)
