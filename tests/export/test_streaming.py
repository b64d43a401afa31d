"""Stateful streaming export: the ONNX step model steps exactly like the offline ONNX forward."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from edgekit.errors import EdgekitError
from edgekit.export import names
from edgekit.export.onnx import export_window_model
from edgekit.export.quantize import QuantizeOptions
from edgekit.export.streaming import export_step_model, quantize_step_model, step_through
from edgekit.export.windows import Windows
from edgekit.models.registry import list_models
from edgekit.runtime.metadata import KIND_STEP, read_metadata
from edgekit.runtime.session import ModelSession
from edgekit.train.tensors import Scaler

from test_export_students import info_for, raw_batches
from zoo_helpers import IN_CHS, build


def _windows() -> Windows:
    a, b, _ = raw_batches(seed=5)
    return Windows(list(a) + list(b[:, :17]), np.zeros(len(a) + len(b), np.int64))


@pytest.mark.parametrize("name", list_models(streamable=True))
def test_step_model_equals_offline_forward(name, tmp_path):
    model = build(name)
    windows = _windows()
    scaler = Scaler.fit(windows.sequences, [f"ch{i}" for i in range(IN_CHS)])
    info = info_for(name)
    window_path, step_path = tmp_path / "w.onnx", tmp_path / "s.onnx"
    export_window_model(model, scaler, info, window_path, [b for _, b in windows.batches()])
    report = export_step_model(model, scaler, info, step_path, window_path=window_path, parity_windows=windows)
    assert report["parity"]["ok"] and report["parity"]["max_abs_diff"] <= 1e-5

    meta = read_metadata(step_path)
    assert meta.kind == KIND_STEP and list(meta.state_shapes) == [tuple(s) for s in model.state_shapes]
    state_in, state_out = names.state_names(len(model.state_shapes))
    assert list(meta.inputs) == [names.STEP_INPUT, *state_in]
    assert list(meta.outputs) == [names.STEP_OUTPUT, *state_out]

    # the runtime wrapper steps it from its metadata alone, equal to the exporter's own stepping
    session = ModelSession(step_path)
    x = windows.sequences[0][None]
    state = session.init_state(1)
    logits = []
    for t in range(x.shape[1]):
        out, state = session.step(x[:, t], state)
        logits.append(out)
    np.testing.assert_allclose(np.stack(logits, 1), step_through(step_path, x), atol=1e-6)


def test_step_parity_catches_a_broken_step_model(tmp_path, monkeypatch):
    """Parity must fail when the step model drifts from the offline forward (here: a stale state)."""
    import edgekit.export.streaming as streaming

    name = list_models(streamable=True)[0]
    model = build(name)
    windows = _windows()
    scaler = Scaler.fit(windows.sequences, [f"ch{i}" for i in range(IN_CHS)])
    export_window_model(model, scaler, info_for(name), tmp_path / "w.onnx", [b for _, b in windows.batches()])
    real_step = model.step
    monkeypatch.setattr(model, "step", lambda x, *s: (real_step(x, *s)[0], *s))  # never advances the state
    with pytest.raises(EdgekitError, match="step model vs offline"):
        streaming.export_step_model(model, scaler, info_for(name), tmp_path / "s.onnx",
                                    window_path=tmp_path / "w.onnx", parity_windows=windows)
    assert not (tmp_path / "s.onnx").exists()


def test_offline_student_has_no_step_model(tmp_path):
    model = build("modern_tcn_xs")
    scaler = Scaler(tuple(f"ch{i}" for i in range(IN_CHS)),
                    np.zeros(IN_CHS, np.float32), np.ones(IN_CHS, np.float32))
    with pytest.raises(EdgekitError, match="not a causal streamable student"):
        export_step_model(model, scaler, info_for("modern_tcn_xs"), tmp_path / "s.onnx",
                          window_path=tmp_path / "w.onnx", parity_windows=_windows())


def test_int8_step_model_reports_agreement(exported, tmp_path):
    trained, window_path, info = exported
    step_path = tmp_path / "step.fp32.onnx"
    export_step_model(trained.model, trained.scaler, info, step_path, window_path=window_path,
                      parity_windows=trained.windows.validation.subset(4))
    report = quantize_step_model(step_path, tmp_path / "step.int8.onnx", trained.windows.calibration.subset(32),
                                 trained.windows.validation.subset(16), QuantizeOptions())
    assert report["argmax_agreement_last_step"] >= 0.9
    assert 0.0 < report["argmax_agreement_per_step"] <= 1.0
    assert report["runtime_census"]["integer"] > 0
    assert read_metadata(tmp_path / "step.int8.onnx").precision == "int8"
    assert [i.name for i in onnx.load(str(tmp_path / "step.int8.onnx")).graph.input][0] == names.STEP_INPUT
