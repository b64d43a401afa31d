"""Quantization-aware fine-tuning (`edgekit export --int8 --qat`) before static INT8 quantization.

Fake quantization (Jacob et al., "Quantization and Training of Neural Networks for Efficient
Integer-Arithmetic-Only Inference", arXiv 1712.05877) with `torch.ao.quantization`'s
`FakeQuantize` modules, matched to what onnxruntime then does: every Conv1d/Linear weight gets
per-channel symmetric int8 fake quantization (a parametrization), every Conv1d/Linear input
per-tensor affine uint8 fake quantization (a forward pre-hook). The copy is fine-tuned for a few
epochs with THE training loop (`edgekit.train.loop.fit`, straight-through gradients through the
fake quantizers), then the fake quantizers are baked out: the weights stay on their int8 grids,
the hooks go, and the model is an ordinary float model again. It is exported to fp32 ONNX and
quantized statically like any other (calibrated QDQ, per-channel), so the INT8 model inherits
weights that were trained to survive quantization.

Eager hooks rather than `prepare_qat_fx`: the students take `(x, mask, stream)` through custom
masked layers, which FX tracing would have to special-case, and the converted torch.ao model
would not export to the QDQ ONNX graph onnxruntime quantizes; the hooks touch only leaf layers.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn
from torch.ao.quantization import FakeQuantize, MovingAverageMinMaxObserver, MovingAveragePerChannelMinMaxObserver
from torch.nn.utils import parametrize

from edgekit.errors import EdgekitError

QUANTIZED_LAYERS = (nn.Conv1d, nn.Linear)


@dataclass(frozen=True)
class QatOptions:
    epochs: int = 3
    lr: float = 2e-4
    batch_size: int = 64
    seed: int = 0


class _WeightFakeQuant(nn.Module):
    """Parametrization: the weight as the int8 per-output-channel grid will see it."""

    def __init__(self):
        super().__init__()
        self.fake_quant = FakeQuantize(observer=MovingAveragePerChannelMinMaxObserver, quant_min=-127, quant_max=127,
                                       dtype=torch.qint8, qscheme=torch.per_channel_symmetric, ch_axis=0)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return self.fake_quant(weight)


def _activation_fake_quant() -> FakeQuantize:
    return FakeQuantize(observer=MovingAverageMinMaxObserver, quant_min=0, quant_max=255, dtype=torch.quint8,
                        qscheme=torch.per_tensor_affine)


def prepare_fake_quant(model: nn.Module) -> tuple[nn.Module, list]:
    """A deep copy of `model` with fake quantizers on every Conv1d/Linear; returns it and its hook handles."""
    qmodel = copy.deepcopy(model)
    handles = []
    for module in list(qmodel.modules()):
        if not isinstance(module, QUANTIZED_LAYERS):
            continue
        parametrize.register_parametrization(module, "weight", _WeightFakeQuant())
        module.input_fake_quant = _activation_fake_quant()
        handles.append(module.register_forward_pre_hook(
            lambda mod, args: (mod.input_fake_quant(args[0]), *args[1:])))
    if not handles:
        raise EdgekitError("QAT found no Conv1d/Linear layer to fake-quantize in this model")
    return qmodel, handles


def bake_fake_quant(qmodel: nn.Module, handles: list) -> nn.Module:
    """Remove the fake quantizers; weights keep their fake-quantized (int8-grid) values."""
    for handle in handles:
        handle.remove()
    for module in qmodel.modules():
        if isinstance(module, QUANTIZED_LAYERS) and parametrize.is_parametrized(module, "weight"):
            with torch.no_grad():
                parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)
            del module.input_fake_quant
    return qmodel.eval()


def qat_finetune(model: nn.Module, x: np.ndarray, mask: np.ndarray, labels: np.ndarray, num_classes: int,
                 options: QatOptions = QatOptions()) -> tuple[nn.Module, dict]:
    """Fine-tune a copy of `model` with fake quantization on scaled training windows.

    `x (N, L, C)` are the model's (normalised, right-padded) inputs with their `(N, L)` mask, as
    the trainer feeds them; the original `model` is left untouched. Returns the baked float model
    and the loop's history.
    """
    from edgekit.train.config import TrainConfig
    from edgekit.train.losses import Objective
    from edgekit.train.loop import FitOptions, fit
    from edgekit.train.schedule import OptimConfig
    from edgekit.train.tensors import Arrays, SequenceTensors

    if options.epochs < 1:
        raise EdgekitError(f"QAT epochs must be >= 1, got {options.epochs}")
    qmodel, handles = prepare_fake_quant(model)
    cfg = TrainConfig(epochs=options.epochs, batch_size=options.batch_size, ema_decay=0.0,
                      optim=OptimConfig(lr=options.lr, warmup_frac=0.0, min_lr_ratio=0.1))
    cfg = replace(cfg, loss=replace(cfg.loss, physics_weight=0.0))
    data = SequenceTensors(Arrays(np.asarray(x, np.float32), np.asarray(mask, bool), np.asarray(labels, np.int64)),
                           num_classes)
    result = fit(qmodel, data, cfg, Objective(cfg.loss, num_classes),
                 FitOptions(epochs=options.epochs, seed=options.seed, device=torch.device("cpu"), stage="qat",
                            amp=False))
    return bake_fake_quant(result.model, handles), {"epochs": options.epochs, "lr": options.lr,
                                                   "history": result.history, "seconds": result.seconds}
