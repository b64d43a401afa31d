"""INT8 drift: the step model's state stays float, a model past its tolerance fails the export
unless `--allow-drift` (then its metadata says so and bench/stream warn), and an export keeps its
temporaries in its own folder."""

from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile

import numpy as np
import onnx
import pytest
from click.testing import CliRunner

from edgekit.errors import EdgekitError
from edgekit.export.drift import Check, settle
from edgekit.export.profiles import load_profile
from edgekit.export.quantize import QuantizeOptions, state_path_nodes
from edgekit.export.run import export_run
from edgekit.export.scratch import SCRATCH
from edgekit.export.streaming import export_step_model, quantize_step_model
from edgekit.export.windows import Windows
from edgekit.runtime.metadata import read_metadata

from export_helpers import write_run_dir


@pytest.fixture(scope="module")
def step_fp32(exported, tmp_path_factory):
    trained, window_path, info = exported
    path = tmp_path_factory.mktemp("step") / "student.step.fp32.onnx"
    export_step_model(trained.model, trained.scaler, info, path, window_path=window_path,
                      parity_windows=trained.windows.validation.subset(2))
    return trained, path


@pytest.fixture(scope="module")
def run_dir(trained, tmp_path_factory):
    return write_run_dir(tmp_path_factory.mktemp("run"), trained).root


def _long_stream(windows: Windows, chained: int = 8) -> np.ndarray:
    """One `(1, T, C)` stream of `chained` windows end to end: far longer than any calibration window."""
    return np.concatenate(windows.sequences[:chained])[None]


def test_state_paths_are_found_and_left_in_float(exported, step_fp32, tmp_path):
    trained, step_path = step_fp32
    graph = onnx.load(str(step_path)).graph
    on_path = {n.op_type for n in graph.node if n.name in set(state_path_nodes(graph))}
    assert {"Concat", "Add"} <= on_path and "Conv" not in on_path  # conv buffers, running-pool sums
    assert state_path_nodes(onnx.load(str(exported[1])).graph) == []  # a window model has no state

    out = tmp_path / "step.int8.onnx"
    report = quantize_step_model(step_path, out, trained.windows.calibration.subset(32),
                                 trained.windows.validation.subset(8), QuantizeOptions())
    quantized = onnx.load(str(out)).graph
    producer = {o: n.op_type for n in quantized.node for o in n.output}
    state_outs = [o.name for o in quantized.output if o.name.startswith("state_out")]
    assert report["float_state"] and state_outs
    assert all(producer[name] != "DequantizeLinear" for name in state_outs)
    assert report["runtime_census"]["integer"] > 0  # the convs are still integer


def test_float_state_counts_exactly_over_a_long_stream(step_fp32, tmp_path):
    """The running pools' sample count: exact in float; on a quantized state it saturates at the
    calibration windows' length, the drift that broke long streams."""
    trained, step_path = step_fp32
    stream = _long_stream(trained.windows.validation)
    counts = [i for i, shape in enumerate(read_metadata(step_path).state_shapes) if tuple(shape) == (1,)]
    assert counts
    finals = {}
    for float_state in (True, False):
        out = tmp_path / f"step.{float_state}.onnx"
        quantize_step_model(step_path, out, trained.windows.calibration.subset(32),
                            trained.windows.validation.subset(4), QuantizeOptions(float_state=float_state))
        finals[float_state] = _final_state(out, stream)
    assert all(finals[True][i].item() == stream.shape[1] for i in counts)
    assert any(abs(finals[False][i].item() - stream.shape[1]) > 1 for i in counts)


def _final_state(path, stream: np.ndarray) -> list[np.ndarray]:
    from edgekit.runtime.session import ModelSession

    session = ModelSession(path)
    state = session.init_state(1)
    for t in range(stream.shape[1]):
        _, state = session.step(stream[:, t], state)
    return state


def test_settle_removes_or_marks(exported, tmp_path):
    _, fp32_path, _ = exported
    path = tmp_path / "student.step.int8.onnx"
    shutil.copy(fp32_path, path)
    checks = [Check("per-step argmax agreement", 0.37, 0.8), Check("max |logit|", 0.1, 1.0, at_least=False)]
    assert settle(path, "INT8 step model", checks[1:], allow_drift=False)["drift"] is None
    assert read_metadata(path).drift == ""

    with pytest.raises(EdgekitError) as error:
        settle(path, "INT8 step model", checks, allow_drift=False)
    message = str(error.value)
    assert len(message.splitlines()) == 1 and str(path) in message
    assert "per-step argmax agreement 0.37 (>= 0.8 required)" in message and "--allow-drift" in message
    assert "max |logit|" not in message  # only what missed
    assert not path.exists()

    shutil.copy(fp32_path, path)
    verdict = settle(path, "INT8 step model", checks, allow_drift=True)
    assert not verdict["ok"] and "0.37" in verdict["drift"]
    assert read_metadata(path).drift == verdict["drift"]


def test_profiles_carry_the_tolerances_and_validate_them():
    from edgekit.export.profiles import profile_from_dict

    int8 = load_profile("cpu-int8")
    assert (int8.min_step_agreement, int8.min_step_agreement_last, int8.max_accuracy_drop_pp) == (0.8, 0.9, 0.5)
    with pytest.raises(EdgekitError, match=r"min_step_agreement: expected a value in \[0, 1\], got 1.5"):
        profile_from_dict({"precision": "int8", "min_step_agreement": 1.5})
    with pytest.raises(EdgekitError, match=r"max_accuracy_drop_pp: expected a number >= 0, got -1"):
        profile_from_dict({"precision": "int8", "max_accuracy_drop_pp": -1})


def test_a_converted_file_does_not_inherit_a_drift_mark(exported, tmp_path):
    from edgekit.export.metadata import copy_metadata, mark_drift
    from edgekit.export.precision import Precision

    _, fp32_path, _ = exported
    marked, copy = tmp_path / "marked.onnx", tmp_path / "copy.onnx"
    shutil.copy(fp32_path, marked)
    shutil.copy(fp32_path, copy)
    mark_drift(marked, "INT8 model misses its tolerance: x")
    assert read_metadata(marked).drift.endswith(": x")
    assert copy_metadata(marked, copy, Precision.INT8).drift == "" and read_metadata(copy).drift == ""
    assert "edgekit.drift" not in {p.key for p in onnx.load(str(copy)).metadata_props}


def _impossible(profile_name: str = "cpu-int8", **fields):
    """The profile with a limit no model meets (set past validation: `replace` does not re-check)."""
    return dataclasses.replace(load_profile(profile_name), **fields)


def test_step_drift_fails_the_export_naming_the_file(run_dir, trained, tmp_path):
    target = _impossible(min_step_agreement=1.5)
    with pytest.raises(EdgekitError, match=r"student\.step\.int8\.onnx: INT8 step model misses its tolerance: "
                                           r"per-step argmax agreement .* \(>= 1\.5 required\)"):
        export_run(run_dir, target=target, out_dir=tmp_path, windows=trained.windows, step_parity_windows=2)
    assert not (tmp_path / "student.step.int8.onnx").exists()
    assert (tmp_path / "student.int8.onnx").exists()  # the window model met its tolerance


def test_window_drift_fails_before_the_step_model(run_dir, trained, tmp_path, monkeypatch):
    from edgekit.export.precision import TOLERANCES, Precision, Tolerance

    monkeypatch.setitem(TOLERANCES, Precision.INT8, Tolerance(atol=0.0, rtol=0.0, min_agreement=1.0))
    with pytest.raises(EdgekitError, match=r"student\.int8\.onnx: INT8 model misses its tolerance: max \|logit"):
        export_run(run_dir, target="cpu-int8", out_dir=tmp_path, windows=trained.windows, step_parity_windows=2)
    assert not (tmp_path / "student.int8.onnx").exists() and not (tmp_path / "student.step.int8.onnx").exists()


def _cli():
    from edgekit.cli import export as export_cli
    from edgekit.cli import main

    if "export" not in main.commands:
        main.add_command(export_cli.export)
    return main


def test_cli_fails_with_exit_2_or_keeps_marked_with_allow_drift(run_dir, trained, tmp_path, monkeypatch):
    import edgekit.export.run as run_mod
    from edgekit.runtime.bench import BenchModel, BenchOptions, bench_models
    from edgekit.runtime.report import bench_markdown

    monkeypatch.setattr(run_mod, "rebuild_windows", lambda run, scaler, data=None: (trained.windows, None))
    monkeypatch.setattr(run_mod, "load_profile", lambda name: _impossible(name, min_step_agreement_last=1.5))
    out = tmp_path / "out"
    result = CliRunner().invoke(_cli(), ["export", str(run_dir), "--int8", "--out", str(out)])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1, result.output
    assert "student.step.int8.onnx" in result.output and "(>= 1.5 required)" in result.output

    result = CliRunner().invoke(_cli(), ["export", str(run_dir), "--int8", "--out", str(out), "--allow-drift",
                                         "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    drift = report["step_int8"]["tolerance"]["drift"]
    assert "last-step argmax agreement" in drift and report["int8"]["tolerance"]["drift"] is None
    step_int8 = out / "student.step.int8.onnx"
    assert read_metadata(step_int8).drift == drift and read_metadata(out / "student.int8.onnx").drift == ""

    bench = bench_models([BenchModel("step int8", step_int8)], BenchOptions(runs=5, warmup=0))
    assert bench["models"][0]["drift"] == drift and bench["rows"][0]["drift"] == drift
    assert f"Warning: step int8 was exported with --allow-drift ({drift})" in bench_markdown(bench)


def test_export_keeps_temporaries_in_its_folder_and_cleans_stale_ones(run_dir, trained, tmp_path, monkeypatch):
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
    out = tmp_path / "export"
    (out / SCRATCH / "tmpabc123").mkdir(parents=True)  # what a `kill -9` mid-quantization leaves
    (out / SCRATCH / "tmpabc123" / "prepared.onnx").write_bytes(b"partial")
    stale = [out / ".student.int8.onnx.123.tmp", out / ".export_report.json.x1y2.tmp"]
    for path in stale:
        path.write_bytes(b"partial")
    (out / ".user-notes.tmp").write_text("not ours")

    seen = []
    import edgekit.export.quantize as quantize

    real = quantize.quantize_int8_file

    def spy(*args, **kwargs):
        seen.append(tempfile.gettempdir())
        return real(*args, **kwargs)

    monkeypatch.setattr(quantize, "quantize_int8_file", spy)
    export_run(run_dir, target="cpu-int8", out_dir=out, windows=trained.windows, step_parity_windows=2)
    assert seen and all(folder == str(out / SCRATCH) for folder in seen)  # ORT's temporaries went there
    assert not any(path.exists() for path in stale) and not (out / SCRATCH).exists()
    assert (out / ".user-notes.tmp").exists()  # only the export's own leftovers are removed
    assert list(system_tmp.iterdir()) == [] and tempfile.tempdir == str(system_tmp)


def test_stream_warns_about_a_drifting_model(tmp_path):
    from edgekit.cli import main
    from edgekit.export.metadata import ModelInfo, mark_drift
    from edgekit.export.onnx import export_window_model
    from edgekit.features import FeatureSpec
    from edgekit.train.tensors import Scaler

    from test_export_students import raw_batches
    from zoo_helpers import IN_CHS, NUM_CLASSES, build

    spec = FeatureSpec.uci_har_default()
    channels = list(spec.names()[:IN_CHS])  # features the C bridge computes, so the stream can run it
    info = ModelInfo.from_spec("mbconv_tcn_causal_xs", spec, [f"class{i}" for i in range(NUM_CLASSES)], 32,
                               padding="right", channels=channels)
    model = build("mbconv_tcn_causal_xs")
    batches = raw_batches()
    scaler = Scaler.fit([b.reshape(-1, IN_CHS) for b in batches], channels)
    window, step = tmp_path / "w.onnx", tmp_path / "student.step.int8.onnx"
    export_window_model(model, scaler, info, window, batches)
    export_step_model(model, scaler, info, step, window_path=window,
                      parity_windows=Windows(list(batches[0]), np.zeros(1, np.int64)))
    mark_drift(step, "INT8 step model misses its tolerance: per-step argmax agreement 0.37 (>= 0.8 required)")

    rng = np.random.default_rng(0)
    rows = [",".join(spec.input_columns())] + [",".join(f"{v:.4f}" for v in rng.normal(size=6)) for _ in range(12)]
    result = CliRunner().invoke(main, ["stream", str(step), "--input", "-", "--hop", "4", "--json"],
                                input="\n".join(rows) + "\n")
    assert result.exit_code == 0, result.output
    assert f"warning: {step} was exported with --allow-drift (INT8 step model misses" in result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["type"] == "summary" and summary["drift"].endswith("(>= 0.8 required)")


def test_exporting_the_step_model_leaves_the_model_in_eval_mode(step_fp32):
    trained, _ = step_fp32  # the fixture exported it
    assert not any(m.training for m in trained.model.modules())
