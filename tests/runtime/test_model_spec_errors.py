"""A model whose stored feature spec is not valid JSON: the error names the model file."""

from __future__ import annotations

import onnx
import pytest
from click.testing import CliRunner
from onnx import TensorProto, helper

from edgekit.cli import main
from edgekit.errors import EdgekitError
from edgekit.features import FeatureSpec
from edgekit.runtime import metadata as md


def _tiny_model(path, spec_json: str):
    """An Identity graph carrying edgekit metadata with `spec_json` as its feature spec."""
    spec = FeatureSpec.uci_har_default()
    meta = md.ModelMetadata(model="tiny", feature_spec_json=spec.to_json(), feature_spec_hash=spec.hash(),
                            channels=tuple(spec.names()), class_names=("a", "b"), window_length=4, padding="left",
                            sample_period_s=spec.sample_period_s, kind=md.KIND_WINDOW, precision="fp32",
                            inputs=("features",), outputs=("logits",))
    x = helper.make_tensor_value_info("features", TensorProto.FLOAT, [1, 2])
    y = helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2])
    graph = helper.make_graph([helper.make_node("Identity", ["features"], ["logits"])], "g", [x], [y])
    proto = helper.make_model(graph)
    for key, value in {**meta.to_props(), md.FEATURE_SPEC: spec_json}.items():
        proto.metadata_props.add(key=key, value=value)
    onnx.save(proto, str(path))
    return path


@pytest.mark.parametrize("spec_json, problem", [('{"inputs": ', "is not valid JSON"),
                                               ("[1, 2]", "is not a JSON object")])
def test_bad_spec_json_names_the_model_file(tmp_path, spec_json, problem):
    model = _tiny_model(tmp_path / "broken_model.onnx", spec_json)
    with pytest.raises(EdgekitError, match=rf"broken_model.onnx: edgekit.feature_spec {problem}.*re-export"):
        md.read_metadata(model)
    csv = tmp_path / "in.csv"
    csv.write_text("acc_x\n1\n")
    result = CliRunner().invoke(main, ["stream", str(model), "--input", str(csv)])
    assert result.exit_code == 2 and "broken_model.onnx" in result.output, result.output


def test_a_good_spec_still_reads(tmp_path):
    spec = FeatureSpec.uci_har_default()
    meta = md.read_metadata(_tiny_model(tmp_path / "ok.onnx", spec.to_json()))
    assert FeatureSpec.from_json(meta.feature_spec_json) == spec
