"""The torch-free runtime session: metadata-driven, refuses wrong features and bad files clearly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from edgekit.errors import EdgekitError
from edgekit.runtime.metadata import KIND_WINDOW, ModelMetadata, read_metadata
from edgekit.runtime.session import ModelSession, SpecMismatchError

REPO = Path(__file__).resolve().parents[2]
HASH = "0123456789abcdef"


def _model(tmp_path: Path, with_metadata: bool = True, name: str = "m.onnx") -> Path:
    """A 2-channel → 2-class window model (ReduceMean over time) with or without edgekit metadata."""
    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["features", "axes"], ["logits"], keepdims=0)], "g",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", "time", 2])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 2])],
        [helper.make_tensor("axes", TensorProto.INT64, [1], [1])])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    if with_metadata:
        meta = ModelMetadata(kind=KIND_WINDOW, precision="fp32", model="toy", feature_spec_json="{}",
                             feature_spec_hash=HASH, channels=("a", "b"), class_names=("x", "y"), window_length=8,
                             padding="right", sample_period_s=0.02, inputs=("features",), outputs=("logits",))
        for key, value in meta.to_props().items():
            proto.metadata_props.add(key=key, value=value)
    path = tmp_path / name
    onnx.save(proto, str(path))
    return path


def _one_line(err: pytest.ExceptionInfo) -> str:
    text = str(err.value)
    assert "\n" not in text
    return text


def test_session_runs_from_metadata(tmp_path):
    session = ModelSession(_model(tmp_path), expected_spec_hash=HASH)
    x = np.arange(12, dtype=np.float32).reshape(1, 6, 2)
    np.testing.assert_allclose(session.run(x), x.mean(1))
    assert session.class_names == ("x", "y") and not session.is_step_model
    with pytest.raises(EdgekitError, match="input has 3 channels; the model expects 2"):
        session.run(np.zeros((1, 4, 3), np.float32))


def test_spec_hash_mismatch_names_both_hashes(tmp_path):
    with pytest.raises(SpecMismatchError) as err:
        ModelSession(_model(tmp_path), expected_spec_hash="fedcba9876543210")
    assert HASH in _one_line(err) and "fedcba9876543210" in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(EdgekitError, match="no such model file") as err:
        ModelSession(tmp_path / "absent.onnx")
    assert "absent.onnx" in _one_line(err)


@pytest.mark.parametrize("content", [b"", b"\x00\x01garbage\xff" * 50, "truncated"])
def test_corrupt_file(tmp_path, content):
    path = tmp_path / "bad.onnx"
    if content == "truncated":
        good = _model(tmp_path).read_bytes()
        content = good[: len(good) // 2]
    path.write_bytes(content)
    with pytest.raises(EdgekitError, match="not a readable ONNX model") as err:
        read_metadata(path)
    assert str(path) in _one_line(err)
    with pytest.raises(EdgekitError):
        ModelSession(path)


def test_foreign_onnx_file(tmp_path):
    path = _model(tmp_path, with_metadata=False)
    with pytest.raises(EdgekitError, match="not an edgekit model") as err:
        ModelSession(path)
    assert str(path) in _one_line(err)


def test_exported_student_round_trip(tmp_path):
    """A real export read back by the runtime: the metadata and the graph agree."""
    pytest.importorskip("torch")
    sys.path.insert(0, str(REPO / "tests" / "models"))
    from zoo_helpers import IN_CHS, build

    from edgekit.export.metadata import ModelInfo
    from edgekit.export.onnx import export_window_model
    from edgekit.features import FeatureSpec
    from edgekit.train.tensors import Scaler

    spec = FeatureSpec.uci_har_default()
    x = np.random.default_rng(0).normal(size=(2, 16, IN_CHS)).astype(np.float32)
    scaler = Scaler.fit(list(x), [f"c{i}" for i in range(IN_CHS)])
    info = ModelInfo.from_spec("modern_tcn_xs", spec, list("abcde"), 16, channels=scaler.channels)
    export_window_model(build("modern_tcn_xs"), scaler, info, tmp_path / "m.onnx", [x])
    session = ModelSession(tmp_path / "m.onnx", expected_spec_hash=spec.hash())
    assert session.run(x).shape == (2, 5) and session.metadata.channels == scaler.channels


def test_runtime_imports_without_torch(tmp_path):
    path = _model(tmp_path)
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'torch' or name.startswith('torch.'):\n"
        "            raise ImportError('torch is blocked')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import numpy as np\n"
        "from edgekit.runtime.session import ModelSession\n"
        "from edgekit.runtime.metadata import read_metadata\n"
        f"s = ModelSession({str(path)!r}, expected_spec_hash={HASH!r})\n"
        "print(s.run(np.ones((1, 3, 2), np.float32)).tolist())\n"
        "assert 'torch' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[[1.0, 1.0]]"
