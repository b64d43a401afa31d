"""Step 1 (fp32 export with normalization folded) for every student, metadata and parity."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch

from edgekit.errors import EdgekitError
from edgekit.export import names
from edgekit.export.metadata import ModelInfo
from edgekit.export.normalize import Normalized
from edgekit.export.onnx import export_window_model, onnx_session
from edgekit.export.precision import TOLERANCES, Precision, Tolerance, compare_logits
from edgekit.features import FeatureSpec
from edgekit.models.registry import list_models
from edgekit.runtime.metadata import KIND_WINDOW, read_metadata
from edgekit.train.tensors import Scaler

from zoo_helpers import IN_CHS, NUM_CLASSES, build

STUDENTS = list_models(kind="student")


def raw_batches(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    offset, scale = rng.uniform(-50, 50, IN_CHS), rng.uniform(0.01, 20, IN_CHS)
    shapes = ((1, 32), (3, 45), (5, 20))
    return [(rng.normal(size=(b, t, IN_CHS)) * scale + offset).astype(np.float32) for b, t in shapes]


def info_for(name: str) -> ModelInfo:
    return ModelInfo.from_spec(name, FeatureSpec.uci_har_default(), [f"class{i}" for i in range(NUM_CLASSES)], 32,
                               padding="right", channels=[f"ch{i}" for i in range(IN_CHS)])


@pytest.mark.parametrize("name", STUDENTS)
def test_student_exports_with_normalization_folded(name, tmp_path):
    model = build(name)
    batches = raw_batches()
    scaler = Scaler.fit([b.reshape(-1, IN_CHS) for b in batches], [f"ch{i}" for i in range(IN_CHS)])
    path = tmp_path / f"{name}.onnx"
    report = export_window_model(model, scaler, info_for(name), path, batches)
    assert report["parity"]["ok"] and report["parity"]["max_abs_diff"] < 1e-4

    session = onnx_session(path)
    for x in batches:  # the file takes RAW features: it equals the model on scaler.apply(x)
        got = session.run([names.OUTPUT], {names.INPUT: x})[0]
        with torch.no_grad():
            want = model(torch.from_numpy(scaler.apply(x))).numpy()
        np.testing.assert_allclose(got, want, atol=1e-4, rtol=1e-4)

    proto = onnx.load(str(path))
    assert max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")) >= 18
    assert [i.name for i in proto.graph.input] == [names.INPUT]
    assert [o.name for o in proto.graph.output] == [names.OUTPUT]
    assert not any("physics" in init.name for init in proto.graph.initializer)  # physics head dropped
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # one self-contained file, no temp left
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == names.BATCH_AXIS and dims[1].dim_param == names.TIME_AXIS
    meta = read_metadata(path)
    assert meta.kind == KIND_WINDOW and meta.precision == "fp32" and meta.model == name


def test_normalization_is_in_the_graph_not_the_caller():
    """Without the fold the raw features reach the model unscaled: the outputs differ a lot."""
    model = build("modern_tcn_xs")
    x = raw_batches()[1]
    scaler = Scaler.fit([x.reshape(-1, IN_CHS)], [f"ch{i}" for i in range(IN_CHS)])
    with torch.no_grad():
        folded = Normalized(model, scaler)(torch.from_numpy(x))
        unfolded = model(torch.from_numpy(x))
        expected = model(torch.from_numpy(scaler.apply(x)))
    torch.testing.assert_close(folded, expected, atol=1e-5, rtol=1e-5)
    assert (folded - unfolded).abs().max() > 1e-2


def test_bad_scaler_is_refused():
    model = build("modern_tcn_xs")
    bad = Scaler(tuple(f"ch{i}" for i in range(IN_CHS)), np.zeros(IN_CHS, np.float32), np.zeros(IN_CHS, np.float32))
    with pytest.raises(EdgekitError, match="std > 0"):
        Normalized(model, bad)
    short = Scaler(("a",), np.zeros(1, np.float32), np.ones(1, np.float32))
    with pytest.raises(EdgekitError, match=f"model takes {IN_CHS}"):
        Normalized(model, short)


def test_parity_failure_is_loud_and_names_the_numbers():
    want = np.array([[1.0, 0.0], [0.0, 1.0]])
    got = np.array([[0.0, 1.0], [0.0, 1.0]])
    parity = compare_logits("demo", got, want, TOLERANCES[Precision.FP32])
    assert not parity.ok
    with pytest.raises(EdgekitError, match=r"parity failed for demo: max \|Δlogit\| 1 .*agreement 0.5000"):
        parity.require()
    assert compare_logits("ok", want + 1e-6, want, Tolerance(1e-5, 0.0, 1.0)).ok


def test_failed_parity_leaves_no_file(tmp_path, monkeypatch):
    import edgekit.export.onnx as onnx_mod

    model = build("mbconv_tcn_xs")
    scaler = Scaler.fit([b.reshape(-1, IN_CHS) for b in raw_batches()], [f"ch{i}" for i in range(IN_CHS)])
    monkeypatch.setitem(onnx_mod.TOLERANCES, Precision.FP32, Tolerance(atol=-1.0, rtol=0.0, min_agreement=1.0))
    with pytest.raises(EdgekitError, match="parity failed"):
        export_window_model(model, scaler, info_for("mbconv_tcn_xs"), tmp_path / "m.onnx", raw_batches())
    assert list(tmp_path.iterdir()) == []
