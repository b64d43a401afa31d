"""Device tests: a tiny causal student on the UCI-HAR feature spec (6 raw inputs, 40 bridge
features), exported to INT8 window and step models by edgekit's own export steps, once per session.
Its weights are random (BatchNorm statistics too): exactness does not need a trained model, and
random layers give every code a chance."""

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

torch.set_num_threads(1)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models"))  # zoo_helpers

CLASSES = ("walk", "sit", "wave")
WINDOW = 32


@dataclass
class TinyExport:
    spec: object
    window_int8: Path
    step_int8: Path
    step_int8_codes: Path  # the same step model with its state quantized too (QuantizeOptions(float_state=False))
    sequences: list  # held-out (T, 40) feature sequences
    raw: np.ndarray  # (N, 6) raw samples for the bridge
    raw_resets: np.ndarray


def _features(spec, raw: np.ndarray, resets: np.ndarray) -> list[np.ndarray]:
    from edgekit.bridge.binding import Bridge

    bridge, out, current = Bridge(spec), [], []
    for sample, reset in zip(raw, resets):
        if reset and current:
            out.append(np.array(current, np.float32))
            current = []
            bridge.reset()
        current.append(bridge.push(sample))
    out.append(np.array(current, np.float32))
    return out


@pytest.fixture(scope="session")
def tiny_export(tmp_path_factory) -> TinyExport:
    from zoo_helpers import randomize_norms, tiny_options

    from edgekit.device.vectors import synthetic_samples
    from edgekit.export.metadata import ModelInfo
    from edgekit.export.onnx import export_window_model
    from edgekit.export.profiles import CalibrationMethod
    from edgekit.export.quantize import QuantizeOptions, calibration_reader, feed_reader, quantize_int8_file
    from edgekit.export.streaming import export_step_model, step_through
    from edgekit.export.windows import Windows
    from edgekit.features import FeatureSpec
    from edgekit.models.registry import create_model
    from edgekit.train.tensors import Scaler

    torch.manual_seed(0)
    spec = FeatureSpec.uci_har_default()
    names = spec.names()
    lengths = [40, 24, 56, 32] * 6
    raw = synthetic_samples(spec.input_columns(), sum(lengths), seed=0)
    resets = np.zeros(len(raw), bool)
    resets[np.cumsum([0, *lengths[:-1]])] = True
    sequences = _features(spec, raw, resets)
    train, held_out = sequences[:16], sequences[16:]
    model = randomize_norms(create_model("mbconv_tcn_causal_xs", in_chs=len(names), num_classes=len(CLASSES),
                                         **tiny_options("mbconv_tcn_causal_xs"))).eval()
    scaler = Scaler.fit(train, list(names))
    info = ModelInfo.from_spec("mbconv_tcn_causal_xs", spec, CLASSES, WINDOW, padding="left")
    out = tmp_path_factory.mktemp("tiny_export")
    calib = Windows(train, np.zeros(len(train), np.int64))
    fp32, step_fp32 = out / "student.fp32.onnx", out / "student.step.fp32.onnx"
    export_window_model(model, scaler, info, fp32, [b for _, b in calib.batches()])
    export_step_model(model, scaler, info, step_fp32, window_path=fp32,
                      parity_windows=Windows(held_out[:2], np.zeros(2, np.int64)))
    quantize_int8_file(fp32, out / "student.int8.onnx", calibration_reader(calib, CalibrationMethod.MINMAX),
                       QuantizeOptions())
    feeds = []
    for _, batch in calib.batches(8):
        feeds += step_through(step_fp32, batch, collect_feeds=True)[1]
    for name, options in (("student.step.int8.onnx", QuantizeOptions()),
                          ("student.step.codes.int8.onnx", QuantizeOptions(float_state=False))):
        quantize_int8_file(step_fp32, out / name, feed_reader(feeds, CalibrationMethod.MINMAX), options)
    held_raw = raw[sum(lengths[:16]):]
    return TinyExport(spec, out / "student.int8.onnx", out / "student.step.int8.onnx",
                      out / "student.step.codes.int8.onnx", held_out, held_raw, resets[sum(lengths[:16]):])


@pytest.fixture(scope="session")
def step_package(tiny_export, tmp_path_factory) -> Path:
    from edgekit.device.package import write_package

    out = tmp_path_factory.mktemp("step_package")
    write_package(tiny_export.step_int8, out)
    return out
