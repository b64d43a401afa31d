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


def test_demo_export_falls_back_to_qat_when_calibration_misses(monkeypatch, tmp_path):
    """A post-training INT8 file that misses its tolerance is retried with --qat, and the summary says why."""
    import edgekit.export.run as export_module
    import edgekit.export.teachers as teachers_module
    from edgekit.demo import _export, _qat_note
    from edgekit.export.drift import ToleranceError

    calls = []

    def fake_export(run_dir, *, qat=False, **kwargs):
        calls.append(qat)
        if not qat:
            raise ToleranceError("student.int8.onnx: INT8 model misses its tolerance: accuracy drop 2.1 pp")
        return {"int8": {"path": "student.int8.onnx"}}

    monkeypatch.setattr(export_module, "export_run", fake_export)
    monkeypatch.setattr(teachers_module, "export_teacher_ensemble", lambda *a, **k: {})
    report = _export(tmp_path / "run", tmp_path / "run" / "export")
    assert calls == [False, True]
    assert "accuracy drop 2.1 pp" in report["qat_because"]
    assert "--qat" in _qat_note(report) and _qat_note({}) == ""


def test_demo_export_keeps_a_drifting_int8_file_when_qat_misses_too(monkeypatch, tmp_path):
    """Still outside the tolerance after --qat: the file is kept marked as drifting (--allow-drift),
    and the summary says both reasons."""
    import edgekit.export.run as export_module
    import edgekit.export.teachers as teachers_module
    from edgekit.demo import _export, _qat_note
    from edgekit.export.drift import ToleranceError

    calls = []

    def fake_export(run_dir, *, qat=False, allow_drift=False, **kwargs):
        calls.append((qat, allow_drift))
        if not allow_drift:
            raise ToleranceError(f"INT8 model misses its tolerance: accuracy drop {'2.08' if qat else '3.1'} pp")
        return {"int8": {"path": "student.int8.onnx", "drifting": True}}

    monkeypatch.setattr(export_module, "export_run", fake_export)
    monkeypatch.setattr(teachers_module, "export_teacher_ensemble", lambda *a, **k: {})
    report = _export(tmp_path / "run", tmp_path / "run" / "export")
    assert calls == [(False, False), (True, False), (True, True)]
    assert "3.1 pp" in report["qat_because"] and "2.08 pp" in report["drift_because"]
    note = _qat_note(report)
    assert "--qat" in note and "drifting" in note and "2.08 pp" in note
