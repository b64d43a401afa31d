"""`edgekit demo` end to end at a tiny size: every step runs and the summary table is complete."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from edgekit.cli import main

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def one_torch_thread():
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)  # the recipe sets one training thread globally


def test_demo_runs_every_step_to_the_summary_table(tmp_path):
    out = tmp_path / "demo"
    result = CliRunner().invoke(main, ["demo", "--out", str(out), "--sequences", "48", "--quick", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert list(summary["steps"]) == ["simulate", "inspect", "features", "train", "export", "bench", "stream", "device"]
    models = {row["model"]: row for row in summary["table"]}
    assert set(models) == {"teacher ensemble fp32", "student fp32", "student INT8", "student step fp32",
                           "student step INT8"}
    assert all(row["p50_ms"] > 0 and row["size_bytes"] > 0 and row["macs"] > 0 for row in models.values())
    assert models["teacher ensemble fp32"]["accuracy"] is not None and models["student INT8"]["accuracy"] is not None
    assert summary["goals"]["window128_vs_step_macs_ratio"] >= 30
    for label in ("student fp32", "student step fp32"):  # streaming = offline on the demo's sequences
        agreement = summary["stream"][label]["agreement"]
        assert agreement["same_class"] == agreement["sequences"] > 0
        assert agreement["max_abs_logit_diff"] <= 1e-4
    assert summary["stream"]["student step fp32"]["agreement"]["max_abs_logit_diff"] <= 1e-5
    for name in ("summary.json", "summary.md", "bench/bench.json", "bench/latency.png",
                 "stream/latency_per_sample.png", "run/export/student.int8.onnx"):
        assert (out / name).exists(), name
