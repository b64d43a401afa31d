"""`edgekit bench`: side-by-side rows, ratios, MACs from the graph, JSON / markdown / PNG."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from edgekit.cli import main
from edgekit.errors import EdgekitError
from edgekit.runtime.bench import BenchModel, BenchOptions, bench_models, ratio
from edgekit.runtime.report import bench_markdown


def test_bench_rows_ratios_and_macs(sim_export):
    models = [BenchModel("window", sim_export.window), BenchModel("int8", sim_export.int8),
              BenchModel("step", sim_export.step)]
    result = bench_models(models, BenchOptions(threads=(1, 2), batches=(1, 4), runs=5, warmup=1, length=128))
    assert len(result["rows"]) == 3 * 2 * 2 and result["baseline"] == "window"
    rows = {(r["label"], r["threads"], r["batch"]): r for r in result["rows"]}
    base = rows[("window", 1, 1)]
    assert base["speedup"] == 1.0 and base["length"] == 128 and base["provider"] == "CPUExecutionProvider"
    assert rows[("int8", 1, 1)]["precision"] == "int8" and rows[("step", 2, 4)]["kind"] == "step"
    lat = base["latency_ms"]
    assert 0 < lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p99"]
    # MACs: the INT8 graph does the same multiply-adds; one step is ~1/128 of a 128-sample window
    assert rows[("int8", 1, 1)]["macs"] == base["macs"] > 0
    macs_ratio = ratio(result, "window", "step", what="macs")
    assert macs_ratio == pytest.approx(base["macs"] / rows[("step", 1, 1)]["macs"]) and macs_ratio >= 30
    assert {"cpu", "cores", "onnxruntime", "onnx", "numpy", "python", "edgekit"} <= set(result["machine"])
    assert len(result["per_sample"]) == 3
    table = bench_markdown(result)
    assert sum(line.startswith("| ") for line in table.splitlines()) == len(result["rows"]) + 1 and "speedup vs window" in table


def test_graph_macs_match_torch_count(sim_export):
    """The ONNX count agrees with edgekit.models.costs (torch's FlopCounterMode) on the student."""
    torch = pytest.importorskip("torch")
    from edgekit.export.run import load_run
    from edgekit.models.costs import count_macs
    from edgekit.runtime.bench import _feeds
    from edgekit.runtime.macs import count_graph_macs
    from edgekit.runtime.session import ModelSession

    model, _, info = load_run(sim_export.folder.parent)
    session = ModelSession(sim_export.window)
    feeds = _feeds(session, 1, 64, __import__("numpy").random.default_rng(0))
    with torch.no_grad():
        assert count_graph_macs(sim_export.window, feeds) == count_macs(model, len(info.channels), 64)


def test_bench_cli_json_plot_and_errors(sim_export, tmp_path):
    out_json, out_png = tmp_path / "bench.json", tmp_path / "bench.png"
    result = CliRunner().invoke(main, ["bench", f"fp32={sim_export.window}", str(sim_export.step_int8),
                                       "--threads", "1", "--batch", "1,2", "--runs", "5", "--warmup", "1",
                                       "--out", str(out_json), "--plot", str(out_png)])
    assert result.exit_code == 0, result.output
    data = json.loads(out_json.read_text())
    assert [r["label"] for r in data["rows"]] == ["fp32", "fp32", "student.step.int8", "student.step.int8"]
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and "| fp32 |" in result.output
    printed = CliRunner().invoke(main, ["bench", str(sim_export.step), "--runs", "5", "--warmup", "1", "--json"])
    assert printed.exit_code == 0, printed.output
    assert [r["label"] for r in json.loads(printed.output)["rows"]] == ["student.step.fp32"]  # JSON only
    bad = CliRunner().invoke(main, ["bench", str(sim_export.window), "--threads", "0"])
    assert bad.exit_code == 2 and "--threads" in bad.output
    missing = CliRunner().invoke(main, ["bench", str(tmp_path / "absent.onnx")])
    assert missing.exit_code == 2 and "absent.onnx" in missing.output
    with pytest.raises(EdgekitError, match="repeat"):
        bench_models([BenchModel("a", sim_export.window), BenchModel("a", sim_export.step)])
