"""Export a model's window `forward` to one self-contained ONNX file and check it with onnxruntime.

Two exporters: the TorchScript-based "legacy" one (`dynamo=False`) and `torch.export`-based
"dynamo". "auto" picks legacy: measured on every zoo model here (torch 2.13, onnxruntime 1.32) it
matches torch to ≤ 1e-5 at several batch sizes and lengths, it is ~100× faster to run, and it
exports GRUs correctly, where dynamo has had wrong results (GRU `linear_before_reset`,
pytorch/pytorch#189225) and baked sequence lengths for bidirectional RNNs (#191855). Dynamo is
kept selectable and tested on the conv students.

`export_window_model` is the first file-out step of the export chain: normalization folded in,
metadata written, parity with torch checked before the file appears under its final name. A model
that takes per-sequence demographics (the teachers of a run trained with them) gets a second
input `demographics (batch, columns)`, raw values, its columns named in the metadata.
"""

from __future__ import annotations

import enum
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

from edgekit.errors import EdgekitError
from edgekit.export import names
from edgekit.export.metadata import ModelInfo, model_metadata, write_metadata
from edgekit.export.precision import TOLERANCES, Parity, Precision, compare_logits
from edgekit.export.normalize import Normalized
from edgekit.io import atomic_path
from edgekit.runtime.metadata import KIND_WINDOW
from edgekit.runtime.session import make_session


class Exporter(str, enum.Enum):
    AUTO = "auto"
    LEGACY = "legacy"
    DYNAMO = "dynamo"


@dataclass(frozen=True)
class ExportResult:
    path: Path
    exporter: Exporter
    opset: int


class _WindowModel(nn.Module):
    """The exported graph: `forward(features[, mask][, demographics]) -> logits` of the wrapped
    model, in eval mode."""

    def __init__(self, model: nn.Module, with_mask: bool, with_demographics: bool = False):
        super().__init__()
        self.model = model
        self.with_mask = with_mask
        self.with_demographics = with_demographics

    def forward(self, features: torch.Tensor, *extra: torch.Tensor) -> torch.Tensor:
        mask = extra[0] if self.with_mask else None
        if self.with_demographics:
            return self.model(features, mask, demographics=extra[-1])
        return self.model(features, mask) if self.with_mask else self.model(features)


def choose_exporter(model: nn.Module, exporter: Exporter | str = Exporter.AUTO) -> Exporter:
    exporter = Exporter(exporter)
    if exporter is not Exporter.AUTO:
        if exporter is Exporter.DYNAMO and any(isinstance(m, nn.RNNBase) for m in model.modules()):
            warnings.warn("the dynamo exporter has had wrong-results bugs for GRU/LSTM; check parity", stacklevel=3)
        return exporter
    return Exporter.LEGACY


def export_onnx(model: nn.Module, path: str | Path, in_chs: int, length: int, *,
                exporter: Exporter | str = Exporter.AUTO, opset: int = 18, dynamic_batch: bool = True,
                dynamic_time: bool = True, with_mask: bool = False, demographics: int = 0) -> ExportResult:
    """Write `model`'s window forward to `path` (weights inside the file) and return what was used;
    `demographics` > 0 adds the `(batch, demographics)` input the model's forward takes."""
    if opset < 18:
        raise EdgekitError(f"opset {opset} is too old: edgekit exports opset 18 or newer")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    chosen = choose_exporter(model, exporter)
    was_training = model.training
    with_demographics = demographics > 0
    wrapper = _WindowModel(model, with_mask, with_demographics).eval()
    batch = 2 if dynamic_batch else 1
    example = (torch.zeros(batch, length, in_chs),)
    if with_mask:
        example += (torch.ones(batch, length, dtype=torch.bool),)
    if with_demographics:
        example += (torch.zeros(batch, demographics),)
    input_names, output_names = names.window_io_names(with_mask, with_demographics)
    axes = names.window_dynamic_axes(dynamic_batch, dynamic_time, with_mask, with_demographics)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # exporter deprecation and tracer chatter; parity is checked instead
            if chosen is Exporter.LEGACY:
                torch.onnx.export(wrapper, example, str(path), dynamo=False, opset_version=opset,
                                  input_names=input_names, output_names=output_names, dynamic_axes=axes)
            else:
                torch.onnx.export(wrapper, example, str(path), dynamo=True, opset_version=opset,
                                  input_names=input_names, output_names=output_names,
                                  dynamic_shapes=_dynamic_shapes(dynamic_batch, dynamic_time, with_mask,
                                                                 with_demographics),
                                  external_data=False, optimize=True, verbose=False)
    finally:
        model.train(was_training)
    return ExportResult(path, chosen, opset)


def _dynamic_shapes(dynamic_batch: bool, dynamic_time: bool, with_mask: bool, with_demographics: bool = False) -> tuple:
    dims = {}
    if dynamic_batch:
        dims[0] = torch.export.Dim(names.BATCH_AXIS)
    if dynamic_time:
        dims[1] = torch.export.Dim(names.TIME_AXIS, min=2)
    shapes = (dims or None, dims or None) if with_mask else (dims or None,)
    if with_demographics:
        shapes += ({0: dims[0]} if dynamic_batch else None,)
    return shapes


def onnx_session(path: str | Path, threads: int = 1):
    return make_session(path, threads)


def torch_onnx_parity(model: nn.Module, path: str | Path,
                      inputs: torch.Tensor | np.ndarray | Sequence[torch.Tensor | np.ndarray],
                      precision: Precision = Precision.FP32, what: str | None = None,
                      demographics: Sequence[np.ndarray] | None = None) -> Parity:
    """Run the ONNX file and the torch model (eval) on each `(B, T, C)` input batch and compare;
    `demographics` (one `(B, D)` array per batch) feed a model that takes them.

    Several batches may differ in batch size and length, to exercise the dynamic axes.
    """
    batches = [inputs] if isinstance(inputs, (torch.Tensor, np.ndarray)) else list(inputs)
    session = onnx_session(path)
    got, want = [], []
    was_training = model.training
    model.eval()
    try:
        for i, batch in enumerate(batches):
            x = np.asarray(batch, dtype=np.float32)
            feeds, extra = {names.INPUT: x}, {}
            if demographics is not None:
                d = np.asarray(demographics[i], dtype=np.float32)
                feeds[names.DEMOGRAPHICS], extra["demographics"] = d, torch.from_numpy(d)
            got.append(session.run([names.OUTPUT], feeds)[0])
            with torch.no_grad():
                want.append(model(torch.from_numpy(x), **extra).numpy())
    finally:
        model.train(was_training)
    return compare_logits(what or f"torch vs ONNX {Precision(precision).value} ({Path(path).name})", got, want,
                          TOLERANCES[Precision(precision)])


def check_onnx_parity(model: nn.Module, path: str | Path,
                      inputs: torch.Tensor | np.ndarray | Sequence[torch.Tensor | np.ndarray]) -> dict:
    """`max_abs_diff` over all logits and `argmax_agreement` (fraction of rows whose top class
    matches) of the ONNX file against the torch model; see `torch_onnx_parity`."""
    return torch_onnx_parity(model, path, inputs).to_dict()


@dataclass(frozen=True)
class ExportOptions:
    exporter: Exporter = Exporter.AUTO
    opset: int = 18
    dynamic_batch: bool = True
    dynamic_time: bool = True
    with_mask: bool = False  # also take the (B, T) padding mask; off: feed each window's real samples


def export_window_model(model: nn.Module, scaler, info: ModelInfo, path: str | Path,
                        parity_inputs: Sequence[np.ndarray], options: ExportOptions = ExportOptions()) -> dict:
    """Step 1 of the export chain: `model` with `scaler` folded in → one fp32 ONNX file with metadata.

    `parity_inputs` are `(B, T, C)` raw-feature batches (validation windows); the file lands under
    `path` only after it matches torch within the fp32 tolerance (else an `EdgekitError`). A model
    taking demographics is checked on raw demographics drawn from the scaler's training mean/std.
    """
    wrapped = Normalized(model, scaler).eval()
    length = max(2, int(info.window_length) or 32)
    columns = scaler.demographics.channels if wrapped.demo_chs else ()
    with atomic_path(path) as tmp:
        result = export_onnx(wrapped, tmp, wrapped.in_chs, length, exporter=options.exporter, opset=options.opset,
                             dynamic_batch=options.dynamic_batch, dynamic_time=options.dynamic_time,
                             with_mask=options.with_mask, demographics=len(columns))
        inputs, outputs = names.window_io_names(options.with_mask, bool(columns))
        write_metadata(tmp, model_metadata(info, kind=KIND_WINDOW, precision=Precision.FP32, inputs=inputs,
                                           outputs=outputs), demographics=columns)
        parity = torch_onnx_parity(wrapped, tmp, parity_inputs, Precision.FP32,
                                   what=f"torch vs ONNX fp32 ({Path(path).name})",
                                   demographics=_parity_demographics(scaler, parity_inputs) if columns else None
                                   ).require()
    return {"path": str(path), "exporter": result.exporter.value, "opset": result.opset,
            "size_bytes": Path(path).stat().st_size, "parity": parity.to_dict(),
            **({"demographics": list(columns)} if columns else {})}


def _parity_demographics(scaler, batches: Sequence[np.ndarray], seed: int = 0) -> list[np.ndarray]:
    """Raw demographics for each parity batch: the training mean ± a standard deviation or so."""
    demo, rng = scaler.demographics, np.random.default_rng(seed)
    return [(demo.mean + demo.std * rng.standard_normal((len(b), len(demo.mean)))).astype(np.float32)
            for b in batches]
