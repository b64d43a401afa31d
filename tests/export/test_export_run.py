"""`export_run` and `edgekit export` on a run directory the test builds itself."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from edgekit.errors import EdgekitError
from edgekit.export.qat import QatOptions, bake_fake_quant, prepare_fake_quant
from edgekit.export.run import REPORT_NAME, export_run
from edgekit.runtime.metadata import read_metadata
from edgekit.runtime.session import ModelSession

from export_helpers import write_run_dir


@pytest.fixture(scope="module")
def run_dir(trained, tmp_path_factory):
    return write_run_dir(tmp_path_factory.mktemp("run"), trained).root


def test_int8_export_of_a_run(run_dir, trained, tmp_path):
    report = export_run(run_dir, target="cpu-int8", out_dir=tmp_path, windows=trained.windows)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted([REPORT_NAME, "student.fp32.onnx", "student.int8.onnx", "student.step.fp32.onnx",
                            "student.step.int8.onnx"])
    assert report["fp32"]["parity"]["ok"] and report["step_fp32"]["parity"]["max_abs_diff"] <= 1e-5
    int8 = report["int8"]
    assert int8["runtime_census"]["integer"] > 0 and int8["accuracy_drop_pp"] <= 0.5
    assert int8["metrics"]["accuracy"] == int8["accuracy_int8"]
    assert json.loads((tmp_path / REPORT_NAME).read_text())["int8"]["size_bytes"] == int8["size_bytes"]
    session = ModelSession(tmp_path / "student.int8.onnx", expected_spec_hash=report["feature_spec_hash"])
    x = trained.windows.validation.sequences[0][None]
    assert session.run(x).shape == (1, 3)


def test_qat_fine_tunes_then_quantizes(run_dir, trained, tmp_path):
    report = export_run(run_dir, target="cpu-int8", out_dir=tmp_path, windows=trained.windows, qat=True,
                        qat_options=QatOptions(epochs=1, batch_size=32))
    qat = report["int8"]["qat"]
    assert len(qat["history"]) == 1 and qat["fp32"]["parity"]["ok"]
    assert (tmp_path / "student.qat.fp32.onnx").exists()
    assert report["int8"]["accuracy_drop_pp"] <= 0.5 and report["int8"]["parity"]["ok"]


def test_fake_quant_is_real_and_baked_out(trained):
    model = trained.model
    qmodel, handles = prepare_fake_quant(model)
    raw, mask = trained.windows.validation.padded_right()
    x, m = torch.from_numpy(trained.scaler.apply(raw, mask)), torch.from_numpy(mask)
    qmodel.eval()  # FakeQuantize observes in eval mode too; train mode would move BatchNorm statistics
    with torch.no_grad():
        qmodel(x, m)
        fake, clean = qmodel(x, m), model(x, m)
    noise = (fake - clean).abs().max() / clean.abs().max()
    assert 0 < noise < 0.2  # quantization noise, not a different model
    baked = bake_fake_quant(qmodel, handles)
    conv = next(m for m in baked.modules() if isinstance(m, torch.nn.Conv1d) and m.weight.shape[-1] > 1)
    w = conv.weight.detach().reshape(conv.weight.shape[0], -1)
    scale = w.abs().amax(1, keepdim=True) / 127
    steps = w / scale  # per-channel int8 grid: integer multiples of the scale
    assert torch.allclose(steps, steps.round(), atol=2e-2)
    assert not any(hasattr(m, "input_fake_quant") for m in baked.modules())
    assert model is not baked and all(not hasattr(m, "parametrizations") for m in model.modules())


def test_qat_only_for_int8(run_dir, trained, tmp_path):
    with pytest.raises(EdgekitError, match="--qat fine-tunes for INT8"):
        export_run(run_dir, target="cpu-fp16", out_dir=tmp_path, windows=trained.windows, qat=True)


def test_fp16_export_of_a_run(run_dir, trained, tmp_path):
    report = export_run(run_dir, target="cpu-fp16", out_dir=tmp_path, windows=trained.windows)
    assert report["fp16"]["parity"]["ok"] and read_metadata(tmp_path / "student.fp16.onnx").precision == "fp16"


def test_interrupted_export_leaves_no_model(run_dir, trained, tmp_path, monkeypatch):
    import edgekit.export.onnx as onnx_mod

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # as if the process were interrupted between writing and finishing the file

    monkeypatch.setattr(onnx_mod, "write_metadata", killed)
    with pytest.raises(KeyboardInterrupt):
        export_run(run_dir, target="cpu-fp32", out_dir=tmp_path, windows=trained.windows)
    assert list(tmp_path.iterdir()) == []  # neither the final name nor a temporary file


def test_interrupted_quantization_leaves_no_int8_model(exported, tmp_path, monkeypatch):
    import edgekit.export.quantize as quantize

    trained, fp32_path, _ = exported

    def killed(*args, **kwargs):
        raise RuntimeError("killed mid-quantization")

    monkeypatch.setattr(quantize, "copy_metadata", killed)
    with pytest.raises(RuntimeError, match="killed"):
        quantize.quantize_int8(fp32_path, tmp_path / "student.int8.onnx", trained.windows.calibration.subset(16),
                               trained.windows.validation.subset(8))
    assert list(tmp_path.iterdir()) == []


def test_tensorrt_target_without_tensorrt_says_what_to_install(run_dir, trained, tmp_path):
    try:
        import tensorrt  # noqa: F401
        pytest.skip("TensorRT is installed here")
    except ImportError:
        pass
    with pytest.raises(EdgekitError, match=r"pip install tensorrt. on a machine with an NVIDIA GPU and CUDA"):
        export_run(run_dir, target="trt-fp16", out_dir=tmp_path, windows=trained.windows)
    assert list(tmp_path.iterdir()) == []
    result = CliRunner().invoke(_cli(), ["export", str(run_dir), "--target", "trt-int8", "--out", str(tmp_path)])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "pip install tensorrt" in result.output


def _cli():
    """The `edgekit` group with `export` registered (the lead registers it in edgekit/cli/__init__.py)."""
    from edgekit.cli import export as export_cli
    from edgekit.cli import main

    if "export" not in main.commands:
        main.add_command(export_cli.export)
    return main


def test_cli_export_json(run_dir, trained, tmp_path, monkeypatch):
    import edgekit.export.run as run_mod

    monkeypatch.setattr(run_mod, "rebuild_windows", lambda run, scaler, data=None: (trained.windows, None))
    result = CliRunner().invoke(_cli(), ["export", str(run_dir), "--int8", "--out", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["target"]["name"] == "cpu-int8" and report["int8"]["parity"]["ok"]
    result = CliRunner().invoke(_cli(), ["export", str(run_dir), "--out", str(tmp_path)])
    assert result.exit_code == 0 and REPORT_NAME in result.output
    result = CliRunner().invoke(_cli(), ["export", str(run_dir), "--int8", "--target", "cpu-fp16"])
    assert result.exit_code == 2 and "conflicts" in result.output


def test_missing_recipe_is_a_clear_error(run_dir, tmp_path):
    with pytest.raises(EdgekitError, match="missing recipe.toml"):
        export_run(run_dir, out_dir=tmp_path)


def test_windows_round_trip_through_trainer_arrays(trained):
    from edgekit.data.windows import crop_or_pad
    from edgekit.export.run import windows_from_arrays

    w = trained.windows.validation
    x, mask = crop_or_pad(w.sequences, 40)
    back = windows_from_arrays(trained.scaler.apply(x, mask), mask, w.labels, trained.scaler)
    for a, b in zip(back.sequences, w.sequences):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-4)
