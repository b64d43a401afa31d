"""The generated C equals ONNX Runtime bit for bit on the host: step and window models, a state
kept in float and a state kept as codes, every logit of every step of the held-out windows."""

from __future__ import annotations

import json

import pytest

from edgekit.device.check import check_exact
from edgekit.device.package import write_package
from tests.tools import require_tool


@pytest.mark.parametrize("which", ["step_int8", "step_int8_codes", "window_int8"])
def test_generated_model_equals_onnxruntime(tiny_export, tmp_path, which):
    require_tool("gcc")
    model = getattr(tiny_export, which)
    report = write_package(model, tmp_path / "package")
    check = check_exact(model, tmp_path / "package", tiny_export.sequences, tmp_path / "build")
    assert check["windows"] > 0 and check["outputs"] >= check["windows"]
    assert check["bit_exact"], check  # not one logit off: no ±1 LSB either
    assert check["argmax_agreement"] == 1.0
    assert report["kind"] == ("window" if which == "window_int8" else "step")


def test_step_state_becomes_rings_and_floats(step_package):
    """The causal convs' states become rings (no copies); the running-mean sums stay float."""
    report = json.loads((step_package / "model.json").read_text())
    assert report["ops"].get("DwRing", 0) == 3  # one per MBConv block of the tiny student
    assert "Concat" not in report["ops"]
    assert report["arena_bytes"] < 2048 and report["state_bytes"] > 0


@pytest.mark.parametrize("standardize", [False, True])
def test_window_student_with_gemm_head_equals_onnxruntime(tiny_export, tmp_path, standardize):
    """modern_tcn_xs (offline, GlobalAveragePool + linear head: ORT's QGemm) compiles exactly too;
    with `window_standardize`, its float front (means over time, Sqrt, Div) as well."""
    require_tool("gcc")
    import numpy as np
    from zoo_helpers import randomize_norms, tiny_options

    from edgekit.export.metadata import ModelInfo
    from edgekit.export.onnx import export_window_model
    from edgekit.export.profiles import CalibrationMethod
    from edgekit.export.quantize import QuantizeOptions, calibration_reader, quantize_int8_file
    from edgekit.export.windows import Windows
    from edgekit.models.registry import create_model
    from edgekit.train.tensors import Scaler

    names = tiny_export.spec.names()
    model = randomize_norms(create_model("modern_tcn_xs", in_chs=len(names), num_classes=3,
                                         window_standardize=standardize, **tiny_options("modern_tcn_xs"))).eval()
    windows = Windows(tiny_export.sequences, np.zeros(len(tiny_export.sequences), np.int64))
    info = ModelInfo.from_spec("modern_tcn_xs", tiny_export.spec, ("a", "b", "c"), 24, padding="left")
    fp32, int8 = tmp_path / "m.fp32.onnx", tmp_path / "m.int8.onnx"
    scaler = Scaler.fit(windows.sequences, list(names))
    export_window_model(model, scaler, info, fp32, [b for _, b in windows.batches()])
    quantize_int8_file(fp32, int8, calibration_reader(windows, CalibrationMethod.MINMAX), QuantizeOptions())
    report = write_package(int8, tmp_path / "package")
    assert report["ops"].get("GlobalAvgPool", 0) >= 1
    assert "QGemm(" in (tmp_path / "package" / "ek_model_student.c").read_text()
    assert (report["ops"].get("FloatMeanAxis", 0) == 2 and report["ops"].get("FloatSqrt", 0) == 1) is standardize
    check = check_exact(int8, tmp_path / "package", tiny_export.sequences, tmp_path / "build")
    assert check["windows"] >= 4 and check["bit_exact"], check
