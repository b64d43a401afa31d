"""TensorRT engines: built and inspected where TensorRT (and an NVIDIA GPU) is present, skipped here."""

from __future__ import annotations

import pytest

trt = pytest.importorskip("tensorrt", reason="TensorRT not installed (pip install tensorrt on an NVIDIA GPU machine)")


@pytest.mark.parametrize("precision", ["fp16", "int8"])
def test_engine_builds_and_reports_layer_precisions(exported, tmp_path, precision):
    from edgekit.export.precision import Precision
    from edgekit.export.quantize import Activations, QuantizeOptions, quantize_int8
    from edgekit.export.tensorrt import build_engine

    trained, fp32_path, _ = exported
    source = fp32_path
    if precision == "int8":
        source = tmp_path / "int8.onnx"
        quantize_int8(fp32_path, source, trained.windows.calibration, trained.windows.validation,
                      QuantizeOptions(activations=Activations.INT8_SYMMETRIC))
    report = build_engine(source, tmp_path / "m.engine", Precision(precision), workspace_mib=256)
    assert report["size_bytes"] > 0 and sum(report["layer_precisions"].values()) > 0
    if precision == "int8":
        assert report["layer_precisions"].get("int8", 0) > 0
