"""Stateful streaming export: the ONNX step model of a causal, streamable student.

The step graph is `Normalized(model).step`: inputs `features_t (batch, C)` raw features and
`state_in_i (batch, *state_shapes[i])`; outputs `logits_t (batch, K)` and `state_out_i` (names in
`names.py`, shapes in the file's metadata). The device starts from zeros (`init_state`) and feeds
`state_out_i` back as `state_in_i` at the next sample.

Parity (`check_step_parity`): stepping the ONNX step model through whole sequences must give, at
every step t, the logits of the offline ONNX window model on the same sequence's first t + 1
samples (the causal forward), to 1e-5 in fp32. The INT8 step model is quantized like the window
model with its recurrent state left in float (`quantize.state_path_nodes`), calibrated on the
(sample, state) pairs the fp32 step model meets on training windows, and judged by its argmax
agreement with the fp32 step model at every step and at the last step of each held-out window
(limits from the export profile; a miss fails the export unless `--allow-drift`, see `drift.py`).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from edgekit.errors import EdgekitError
from edgekit.export import names
from edgekit.export.metadata import ModelInfo, model_metadata, write_metadata
from edgekit.export.precision import STEP_TOLERANCE, TOLERANCES, Precision, compare_logits
from edgekit.export.normalize import Normalized
from edgekit.export.windows import Windows
from edgekit.io import atomic_path
from edgekit.runtime.metadata import KIND_STEP
from edgekit.runtime.session import make_session


class _StepGraph(nn.Module):
    def __init__(self, model: Normalized):
        super().__init__()
        self.model = model

    def forward(self, features_t: torch.Tensor, *state: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.model.step(features_t, *state)


def is_streamable(model: nn.Module) -> bool:
    return bool(getattr(model, "causal", False)) and hasattr(model, "step") and hasattr(model, "state_shapes")


def export_step_model(model: nn.Module, scaler, info: ModelInfo, path: str | Path, *,
                      window_path: str | Path, parity_windows: Windows, opset: int = 18) -> dict:
    """Write the fp32 step model of `model` to `path`; it lands there only if stepping it equals
    the offline ONNX window model at `window_path` on `parity_windows` (else an `EdgekitError`)."""
    if not is_streamable(model):
        raise EdgekitError(f"model {info.model!r} is not a causal streamable student; only those have a step model")
    wrapped = Normalized(model, scaler).eval()
    shapes = wrapped.state_shapes
    state_in, state_out = names.state_names(len(shapes))
    inputs, outputs = [names.STEP_INPUT, *state_in], [names.STEP_OUTPUT, *state_out]
    example = (torch.zeros(2, wrapped.in_chs), *wrapped.init_state(2))
    with atomic_path(path) as tmp:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer chatter; parity is checked instead
            # eval(): the exporter restores the wrapper's mode afterwards, recursively, and a fresh
            # module is in train mode: the caller's model would be left training (BatchNorm drifts)
            torch.onnx.export(_StepGraph(wrapped).eval(), example, str(tmp), dynamo=False, opset_version=opset,
                              input_names=inputs, output_names=outputs,
                              dynamic_axes={name: {0: names.BATCH_AXIS} for name in inputs + outputs})
        write_metadata(tmp, model_metadata(info, kind=KIND_STEP, precision=Precision.FP32, inputs=inputs,
                                           outputs=outputs, state_shapes=shapes))
        parity = check_step_parity(tmp, window_path, parity_windows, label=Path(path).name)
    return {"path": str(path), "state_shapes": [list(s) for s in shapes], "opset": opset,
            "size_bytes": Path(path).stat().st_size, "parity": parity}


def step_through(step_path: str | Path, batch: np.ndarray, *, collect_feeds: bool = False):
    """Step a step-model file through `(B, T, C)` sequences from the zero state.

    Returns `(B, T, K)` per-step logits and, with `collect_feeds`, the input dict of every step.
    """
    session = make_session(step_path)
    input_names = [i.name for i in session.get_inputs()]
    output_names = [o.name for o in session.get_outputs()]
    state = [np.zeros([batch.shape[0], *i.shape[1:]], dtype=np.float32) for i in session.get_inputs()[1:]]
    logits, feeds = [], []
    for t in range(batch.shape[1]):
        feed = dict(zip(input_names, [np.ascontiguousarray(batch[:, t]), *state]))
        if collect_feeds:
            feeds.append(feed)
        out = session.run(output_names, feed)
        logits.append(out[0])
        state = out[1:]
    return (np.stack(logits, axis=1), feeds) if collect_feeds else np.stack(logits, axis=1)


def offline_prefix_logits(window_path: str | Path, batch: np.ndarray) -> np.ndarray:
    """`(B, T, K)`: the window model's logits on each prefix `batch[:, :t + 1]` (the causal forward)."""
    session = make_session(window_path)
    return np.stack([session.run([names.OUTPUT], {names.INPUT: np.ascontiguousarray(batch[:, : t + 1])})[0]
                     for t in range(batch.shape[1])], axis=1)


def check_step_parity(step_path: str | Path, window_path: str | Path, windows: Windows,
                      label: str | None = None) -> dict:
    """Step model vs offline window model at every step of every window; raises past 1e-5."""
    got, want = [], []
    for _, batch in windows.batches():
        got.append(step_through(step_path, batch))
        want.append(offline_prefix_logits(window_path, batch))
    k = got[0].shape[-1]
    parity = compare_logits(f"ONNX step model vs offline ONNX forward ({label or Path(step_path).name})",
                            [g.reshape(-1, k) for g in got], [w.reshape(-1, k) for w in want], STEP_TOLERANCE)
    return parity.require().to_dict()


def quantize_step_model(fp32_step_path: str | Path, int8_step_path: str | Path, calibration_windows: Windows,
                        validation_windows: Windows, options, *, min_agreement_per_step: float = 0.0,
                        min_agreement_last_step: float = 0.0, allow_drift: bool = False) -> dict:
    """INT8 step model, calibrated on the fp32 step model's own (sample, state) inputs, and its argmax
    agreement with the fp32 step model at every step and at the last step of each validation
    window, each held to its minimum (`drift.settle`: removed with an error, or kept and marked;
    the defaults of 0 check nothing, `export_run` passes the profile's)."""
    from edgekit.export.census import graph_census, runtime_census
    from edgekit.export.drift import Check, settle
    from edgekit.export.quantize import feed_reader, quantize_int8_file

    feeds: list[dict[str, np.ndarray]] = []
    for _, batch in calibration_windows.subset(options.calibration.size, seed=0).batches(32):
        feeds += step_through(fp32_step_path, batch, collect_feeds=True)[1]
    quantize_int8_file(fp32_step_path, int8_step_path, feed_reader(feeds, options.calibration.method), options)
    got, want = [], []
    for _, batch in validation_windows.batches():
        got.append(step_through(int8_step_path, batch))
        want.append(step_through(fp32_step_path, batch))
    k = want[0].shape[-1]
    per_step = compare_logits("ONNX step fp32 vs INT8", [g.reshape(-1, k) for g in got],
                              [w.reshape(-1, k) for w in want], TOLERANCES[Precision.INT8])
    final = compare_logits("ONNX step fp32 vs INT8 (last step)", [g[:, -1] for g in got], [w[:, -1] for w in want],
                           TOLERANCES[Precision.INT8])
    tolerance = settle(int8_step_path, "INT8 step model", [
        Check("per-step argmax agreement with the fp32 step model", per_step.argmax_agreement, min_agreement_per_step),
        Check("last-step argmax agreement with the fp32 step model", final.argmax_agreement, min_agreement_last_step),
    ], allow_drift, advice="try another calibration method in the profile")
    return {"path": str(int8_step_path), "size_bytes": Path(int8_step_path).stat().st_size,
            "argmax_agreement_per_step": per_step.argmax_agreement,
            "argmax_agreement_last_step": final.argmax_agreement, "max_abs_diff": per_step.max_abs_diff,
            "float_state": bool(options.float_state), "tolerance": tolerance,
            "census": graph_census(int8_step_path), "runtime_census": runtime_census(int8_step_path)}
