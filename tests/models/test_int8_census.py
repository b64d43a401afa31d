"""The students quantize to integer ops: what onnxruntime runs of an INT8 export is integer except
the input normalization (and, in causal window models, the running means' CumSum and divide, kept
so that a step model equals its window model to 1e-5).

GELU (Erf, Div), LayerNorm and ReduceMean stay float between a dequantize and a quantize and made
the INT8 student slower than fp32; the students now use ReLU, BatchNorm folded into the convs and
the classifier, GlobalAveragePool squeezes and causal convs with the left padding inside the Conv.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from edgekit.export import names
from edgekit.export.census import graph_census, runtime_census
from edgekit.export.metadata import ModelInfo, model_metadata, write_metadata
from edgekit.export.precision import Precision
from edgekit.export.onnx import export_window_model
from edgekit.export.quantize import FeedReader, QuantizeOptions, quantize_int8_file
from edgekit.features import FeatureSpec
from edgekit.models.registry import list_models
from edgekit.runtime.metadata import KIND_STEP
from edgekit.train.tensors import Scaler

from zoo_helpers import IN_CHS, NUM_CLASSES, StepGraph, build

FAMILIES = ("modern_tcn", "mbconv_tcn")
STUDENTS = [n for n in list_models(kind="student") if n.startswith(FAMILIES) and n.endswith("_xs")]
NORMALIZATION = {"IsNaN", "Where", "Sub", "Div", "Shape", "ConstantOfShape", "Transpose"}  # export's input guard
RUNNING_MEAN = {"CumSum", "Div", "Shape", "ConstantOfShape", "Clip"}  # causal squeeze/pooling over the window
NEVER_FLOAT = {"Erf", "Gelu", "LayerNormalization", "ReduceMean", "Pad", "Conv", "Gemm", "MatMul", "BatchNormalization"}


def _info(name: str) -> ModelInfo:
    return ModelInfo.from_spec(name, FeatureSpec.uci_har_default(), [f"class{i}" for i in range(NUM_CLASSES)], 32,
                               padding="right", channels=[f"ch{i}" for i in range(IN_CHS)])


def _int8_window_model(name: str, tmp_path):
    model = build(name)
    rng = np.random.default_rng(0)
    batches = [rng.normal(size=(8, 32, IN_CHS)).astype(np.float32) for _ in range(4)]
    scaler = Scaler.fit([b.reshape(-1, IN_CHS) for b in batches], [f"ch{i}" for i in range(IN_CHS)])
    fp32, int8 = tmp_path / "m.onnx", tmp_path / "m.int8.onnx"
    export_window_model(model, scaler, _info(name), fp32, batches[:1])
    quantize_int8_file(fp32, int8, FeedReader([{names.INPUT: b} for b in batches]), QuantizeOptions())
    return model, int8


@pytest.mark.parametrize("name", STUDENTS)
def test_int8_student_runs_in_integer(name, tmp_path):
    model, int8 = _int8_window_model(name, tmp_path)
    allowed = NORMALIZATION | (RUNNING_MEAN if model.causal else set())
    for census in (graph_census(int8), runtime_census(int8)):
        floating = set(census["float_ops"])
        assert not floating & NEVER_FLOAT, census["float_ops"]
        assert floating <= allowed, census["float_ops"]
    ran = runtime_census(int8)["integer_ops"]
    assert ran.get("QLinearConv", 0) > 0, ran
    if not model.causal:  # causal models squeeze and pool with running means instead
        assert ran.get("QLinearGlobalAveragePool", 0) > 0, ran


@pytest.mark.parametrize("name", [n for n in STUDENTS if "causal" in n])
def test_int8_step_model_has_no_float_compute_off_the_state_path(name, tmp_path):
    # the recurrent state stays float by design (`quantize.state_path_nodes`); nothing else may
    model = build(name)
    state = model.init_state(1)
    state_in, state_out = names.state_names(len(state))
    fp32, int8 = tmp_path / "step.onnx", tmp_path / "step.int8.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter announces its future
        torch.onnx.export(StepGraph(model).eval(), (torch.zeros(1, IN_CHS), *state), str(fp32), dynamo=False,
                          opset_version=18, input_names=[names.STEP_INPUT, *state_in],
                          output_names=[names.STEP_OUTPUT, *state_out])
    write_metadata(fp32, model_metadata(_info(name), kind=KIND_STEP, precision=Precision.FP32,
                                        inputs=[names.STEP_INPUT, *state_in], outputs=[names.STEP_OUTPUT, *state_out],
                                        state_shapes=model.state_shapes))
    feeds, x = [], torch.randn(24, 1, IN_CHS, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        for t in range(len(x)):
            feeds.append({names.STEP_INPUT: x[t].numpy(), **{n: s.numpy() for n, s in zip(state_in, state)}})
            _, *state = model.step(x[t], *state)
    quantize_int8_file(fp32, int8, FeedReader(feeds), QuantizeOptions())
    for census in (graph_census(int8), runtime_census(int8)):
        assert not set(census["float_ops"]) & (NEVER_FLOAT | {"CumSum"}), census["float_ops"]
