"""Metadata round-trip and export target profiles."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest

from edgekit import __version__
from edgekit.errors import EdgekitError
from edgekit.export.metadata import copy_metadata, model_metadata, write_metadata
from edgekit.export.precision import Precision
from edgekit.export.profiles import (
    CalibrationMethod,
    Provider,
    list_profiles,
    load_profile,
    profile_from_dict,
)
from edgekit.features import FeatureSpec
from edgekit.resources import export_profiles_dir
from edgekit.runtime import metadata as md


def test_metadata_round_trips(exported, tmp_path):
    trained, fp32_path, info = exported
    meta = md.read_metadata(fp32_path)
    spec = FeatureSpec.uci_har_default()
    assert meta.feature_spec_hash == spec.hash() and FeatureSpec.from_json(meta.feature_spec_json) == spec
    assert meta.class_names == info.class_names and meta.channels == trained.scaler.channels
    assert meta.window_length == info.window_length and meta.padding == "right"
    assert meta.sample_period_s == spec.sample_period_s and meta.version == __version__
    assert meta.inputs == ("features",) and meta.outputs == ("logits",) and meta.state_shapes == ()
    assert meta.normalization == "folded" and meta.format == md.METADATA_FORMAT

    step = model_metadata(info, kind=md.KIND_STEP, precision=Precision.FP32, inputs=["a", "s0"],
                          outputs=["b", "s1"], state_shapes=[(4, 3), (1,)])
    assert md.ModelMetadata.from_props(step.to_props()) == step

    copy = tmp_path / "copy.onnx"
    copy.write_bytes(Path(fp32_path).read_bytes())
    again = copy_metadata(fp32_path, copy, Precision.INT8)
    assert md.read_metadata(copy) == again and again.precision == "int8"
    assert again.feature_spec_hash == meta.feature_spec_hash


def test_foreign_keys_survive_and_malformed_metadata_is_named(exported, tmp_path):
    _, fp32_path, _ = exported
    proto = onnx.load(str(fp32_path))
    proto.metadata_props.add(key="author", value="someone")
    for p in proto.metadata_props:
        if p.key == md.CLASS_NAMES:
            p.value = "not json"
    path = tmp_path / "m.onnx"
    onnx.save(proto, str(path))
    with pytest.raises(EdgekitError, match="malformed edgekit metadata"):
        md.read_metadata(path)
    write_metadata(path, md.read_metadata(fp32_path))
    assert md.read_metadata(path).class_names == md.read_metadata(fp32_path).class_names
    assert {p.key: p.value for p in onnx.load(str(path)).metadata_props}["author"] == "someone"


def test_every_profile_loads():
    names = list_profiles()
    assert {"cpu-fp32", "cpu-int8", "cpu-fp16", "trt-fp16", "trt-int8"} <= set(names)
    for name in names:
        profile = load_profile(name)
        assert profile.name == name and profile.opset >= 18
        first_line = (export_profiles_dir() / f"{name}.toml").read_text().splitlines()[0]
        assert first_line.startswith("# edgekit export")  # each file starts with its command
    int8 = load_profile("cpu-int8")
    assert int8.precision is Precision.INT8 and int8.provider is Provider.CPU
    assert int8.calibration.method is CalibrationMethod.MINMAX and int8.max_accuracy_drop_pp == 0.5
    assert load_profile("trt-int8").provider is Provider.TENSORRT


def test_profile_errors_name_the_key_and_value(tmp_path):
    with pytest.raises(EdgekitError, match=r"unknown key 'precison'; allowed: \['name', 'precision'"):
        profile_from_dict({"precison": "int8"})
    with pytest.raises(EdgekitError, match=r"precision: expected one of \['fp32', 'fp16', 'int8'\], got 'int4'"):
        profile_from_dict({"precision": "int4"})
    with pytest.raises(EdgekitError, match=r"calibration.method: expected one of \['minmax', .*got 'mean'"):
        profile_from_dict({"precision": "int8", "calibration": {"method": "mean"}})
    with pytest.raises(EdgekitError, match=r"unknown key 'calibration.sise'; allowed in \[calibration\]: \['method'"):
        profile_from_dict({"precision": "int8", "calibration": {"sise": 3}})
    with pytest.raises(EdgekitError, match="calibration.size: expected a positive integer, got 0"):
        profile_from_dict({"precision": "int8", "calibration": {"size": 0}})
    with pytest.raises(EdgekitError, match="opset: expected an ONNX opset >= 18, got 13"):
        profile_from_dict({"precision": "fp32", "opset": 13})
    with pytest.raises(EdgekitError, match="opset: expected an integer, got '18'"):
        profile_from_dict({"precision": "fp32", "opset": "18"})
    with pytest.raises(EdgekitError, match="missing key 'precision'; expected one of"):
        profile_from_dict({"provider": "cpu"})
    with pytest.raises(EdgekitError, match="unknown export target 'cpu-int4'; available: cortex-m4, cpu-fp16"):
        load_profile("cpu-int4")
    bad = tmp_path / "bad.toml"
    bad.write_text('precision = "int8"\nprovider = "tpu"\n')
    with pytest.raises(EdgekitError, match=rf"{bad}: provider: expected one of \['cpu', 'tensorrt', 'cortex-m4'\], got 'tpu'"):
        load_profile(bad)
