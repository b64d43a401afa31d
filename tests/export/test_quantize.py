"""Steps 2a/2b: INT8 (static QDQ, uint8 activations) and FP16 from the fp32 file, with reports."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from edgekit.errors import EdgekitError
from edgekit.export.census import graph_census, runtime_census
from edgekit.export.fp16 import convert_fp16
from edgekit.export.profiles import Calibration, CalibrationMethod
from edgekit.export.quantize import Activations, QuantizeOptions, accuracy_report, float_front_nodes, quantize_int8
from edgekit.runtime.metadata import read_metadata


def test_int8_runs_in_integer_and_keeps_accuracy(exported, tmp_path):
    trained, fp32_path, _ = exported
    out = tmp_path / "student.int8.onnx"
    report = quantize_int8(fp32_path, out, trained.windows.calibration, trained.windows.validation)
    assert report["parity"]["ok"] and report["parity"]["argmax_agreement"] >= 0.95
    assert report["accuracy_fp32"] == 1.0 and report["accuracy_drop_pp"] <= 0.5
    assert not report["accuracy_drop_exceeded"] and "advice" not in report
    census = report["runtime_census"]
    assert census["integer"] > 0 and census["integer_ops"].get("QLinearConv", 0) > 0
    assert report["census"]["integer"] >= census["integer_ops"]["QLinearConv"]
    assert report["size_bytes"] < report["fp32_size_bytes"]
    assert read_metadata(out).precision == "int8"
    # uint8 activations (FIELD_NOTES: int8 ones leave depthwise convs in float)
    zero_points = [i for i in onnx.load(str(out)).graph.initializer if i.data_type == onnx.TensorProto.UINT8]
    assert zero_points


@pytest.mark.parametrize("method", [CalibrationMethod.PERCENTILE, CalibrationMethod.ENTROPY])
def test_calibration_methods_are_selectable(exported, tmp_path, method):
    trained, fp32_path, _ = exported
    options = QuantizeOptions(calibration=Calibration(method=method, size=48))
    report = quantize_int8(fp32_path, tmp_path / "m.onnx", trained.windows.calibration,
                           trained.windows.validation.subset(32), options)
    assert report["calibration"] == {"method": method.value, "windows": 48}
    assert report["parity"]["ok"]


def test_symmetric_int8_activations_for_tensorrt(exported, tmp_path):
    trained, fp32_path, _ = exported
    out = tmp_path / "m.onnx"
    quantize_int8(fp32_path, out, trained.windows.calibration.subset(32), trained.windows.validation.subset(16),
                  QuantizeOptions(activations=Activations.INT8_SYMMETRIC))
    model = onnx.load(str(out))
    assert not [i for i in model.graph.initializer if i.data_type == onnx.TensorProto.UINT8]


def test_accuracy_drop_past_threshold_suggests_qat():
    import numpy as np

    labels = np.array([0, 1] * 4)
    good = np.eye(2)[labels]
    worse = good.copy()
    worse[[1, 3]] = [1.0, 0]  # two of eight windows flip to wrong
    report = accuracy_report(good, worse, labels, 0.5, "int8")
    assert report["accuracy_drop_pp"] == pytest.approx(25.0) and report["accuracy_drop_exceeded"]
    assert report["accuracy_drop_limit_pp"] == pytest.approx(12.5) and "--qat" in report["advice"]
    worse[3] = good[3]  # one window of eight: what eight windows cannot resolve below 12.5 pp
    report = accuracy_report(good, worse, labels, 0.5, "int8")
    assert report["accuracy_drop_pp"] == pytest.approx(12.5) and not report["accuracy_drop_exceeded"]
    assert "advice" not in report


def test_census_rule_on_a_hand_made_graph():
    from onnx import TensorProto, helper

    nodes = [
        helper.make_node("DequantizeLinear", ["xq", "s", "z"], ["x"]),
        helper.make_node("DequantizeLinear", ["wq", "s", "z"], ["w"]),
        helper.make_node("Conv", ["x", "w"], ["y"]),  # DQ -> Conv -> Q: integer
        helper.make_node("QuantizeLinear", ["y", "s", "z"], ["yq"]),
        helper.make_node("DequantizeLinear", ["yq", "s", "z"], ["y2"]),
        helper.make_node("Erf", ["y2"], ["out"]),  # output is a graph output: float
    ]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("xq", TensorProto.UINT8, [1])],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1])])
    census = graph_census(helper.make_model(graph))
    assert census == {"integer": 1, "float": 1, "qdq": 4, "integer_ops": {"Conv": 1}, "float_ops": {"Erf": 1}}


def test_fp32_file_has_no_integer_ops(exported):
    _, fp32_path, _ = exported
    assert runtime_census(fp32_path)["integer"] == 0


def test_fp16_parity_and_size(exported, tmp_path):
    trained, fp32_path, _ = exported
    out = tmp_path / "student.fp16.onnx"
    report = convert_fp16(fp32_path, out, trained.windows.validation)
    # the project's fp16 tolerance (a relative bound on the logit scale), not a number of this test's own
    assert report["parity"]["ok"], report["parity"]
    assert report["parity"]["max_abs_diff"] <= report["parity"]["allowed_diff"]
    assert report["accuracy_fp16"] == report["accuracy_fp32"] == 1.0
    assert read_metadata(out).precision == "fp16"
    model = onnx.load(str(out))
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT  # keep_io_types
    assert any(i.data_type == onnx.TensorProto.FLOAT16 for i in model.graph.initializer)


def test_quantizing_a_missing_file_is_a_clear_error(tmp_path, exported):
    trained, _, _ = exported
    with pytest.raises((EdgekitError, FileNotFoundError, Exception)):
        quantize_int8(tmp_path / "nope.onnx", tmp_path / "out.onnx", trained.windows.calibration,
                      trained.windows.validation)
    assert not (tmp_path / "out.onnx").exists()


def test_window_standardisation_stays_float_in_int8(tmp_path):
    """A student with `window_standardize`: the folded scaler and the standardisation run in float
    (quantized at the input's scale, a still window's small movements would round away before they
    are standardised); the stem conv reads them quantized, and the INT8 file keeps the accuracy."""
    from export_helpers import CLASSES, LENGTH, train_tiny

    from edgekit.export.metadata import ModelInfo
    from edgekit.export.onnx import export_window_model
    from edgekit.features import FeatureSpec

    trained = train_tiny("modern_tcn_xs", window_standardize=True)
    info = ModelInfo.from_spec(trained.name, FeatureSpec.uci_har_default(), CLASSES, LENGTH, padding="right",
                               channels=trained.scaler.channels)
    fp32 = tmp_path / "student.fp32.onnx"
    export_window_model(trained.model, trained.scaler, info, fp32, [b for _, b in trained.windows.validation.batches()])
    front = float_front_nodes(onnx.load(str(fp32)).graph)
    ops = {n.op_type for n in onnx.load(str(fp32)).graph.node if n.name in front}
    assert {"ReduceMean", "Sqrt", "Div", "Sub"} <= ops and "Conv" not in ops and "Concat" not in ops
    out = tmp_path / "student.int8.onnx"
    report = quantize_int8(fp32, out, trained.windows.calibration, trained.windows.validation)
    graph = onnx.load(str(out)).graph
    producer = {o: n for n in graph.node for o in n.output}
    reduces = [n for n in graph.node if n.op_type == "ReduceMean"]
    assert reduces and all(producer[n.input[0]].op_type != "DequantizeLinear" for n in reduces)
    stem = next(n for n in graph.node if n.op_type == "Conv")  # the first conv: the stem
    assert producer[stem.input[0]].op_type == "DequantizeLinear"
    assert report["parity"]["ok"] and report["accuracy_drop_pp"] <= 1.0
    # a model without the layer keeps nothing in float by this rule
    plain = tmp_path / "plain.onnx"
    export_window_model(train_tiny("modern_tcn_xs", steps=1).model, trained.scaler, info, plain,
                        [b for _, b in trained.windows.validation.batches()])
    assert float_front_nodes(onnx.load(str(plain)).graph) == []


def test_histogram_calibration_keeps_stdout_clean_or_fails_naming_the_method(exported, tmp_path, capsys):
    """onnxruntime's histogram calibrators print their progress (it would corrupt `export --json`),
    and its percentile one cannot bin a near-constant tensor: a window-standardising student's
    variance, about 1 on every window. That is an error naming the methods that work."""
    trained, fp32_path, _ = exported
    quantize_int8(fp32_path, tmp_path / "e.onnx", trained.windows.calibration.subset(32),
                  trained.windows.validation.subset(16),
                  QuantizeOptions(calibration=Calibration(method=CalibrationMethod.ENTROPY, size=32)))
    assert capsys.readouterr().out == ""

    # a near-constant tensor feeding a quantized op: x * 1e-5 + 1, then a convolution
    from onnx import TensorProto, helper

    from edgekit.export.quantize import feed_reader, quantize_int8_file

    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "tiny"], ["small"]), helper.make_node("Add", ["small", "one"], ["near_one"]),
         helper.make_node("Conv", ["near_one", "w"], ["y"])], "near_constant",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 16])],
        [helper.make_tensor("tiny", TensorProto.FLOAT, [], [1e-5]), helper.make_tensor("one", TensorProto.FLOAT, [], [1.0]),
         helper.make_tensor("w", TensorProto.FLOAT, [2, 2, 1], [1.0, 0.5, -0.5, 1.0])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    path = tmp_path / "near_constant.onnx"
    onnx.save(model, str(path))
    rng = np.random.default_rng(0)
    feeds = [{"x": rng.normal(size=(1, 2, 16)).astype(np.float32)} for _ in range(8)]
    method = CalibrationMethod.PERCENTILE
    with pytest.raises(EdgekitError, match="'percentile'.*expected calibration.method = 'minmax'.*or 'entropy'"):
        quantize_int8_file(path, tmp_path / "p.onnx", feed_reader(feeds, method),
                           QuantizeOptions(calibration=Calibration(method=method), pre_process=False))
