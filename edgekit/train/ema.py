"""Exponential moving average of a model's weights (timm's ModelEmaV3, simplified).

`ema = ModelEMA(model)`; after each optimizer step `ema.update(model)`; evaluate and save
`ema.module`. Floating-point parameters and buffers (BatchNorm running statistics included) are
averaged; integer buffers (`num_batches_tracked`) are copied. With `warmup` the decay ramps up as
`min(decay, 1 − (1 + n)^(−2/3))` after n updates (timm's default warmup), so early weights do not
dominate a short run. With a schedule-free optimizer, update from the train-mode weights as usual;
the EMA is an alternative to the optimizer's own averaged (eval-mode) weights, not a complement.

Switch EMA (Li et al. 2024, arXiv 2402.09240; `train.ema_switch`): at each epoch's end the loop
calls `ema.copy_to(model)`, so the next epoch trains on from the averaged weights (the optimizer's
moments are kept); the average itself runs on unchanged.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from edgekit.errors import EdgekitError


class ModelEMA:
    def __init__(self, model: nn.Module, decay: float = 0.999, warmup: bool = True):
        if not 0.0 <= decay < 1.0:
            raise EdgekitError(f"EMA decay must be in [0, 1), got {decay}")
        self.decay = decay
        self.warmup = warmup
        self.num_updates = 0
        self.module = copy.deepcopy(model).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)

    def current_decay(self) -> float:
        if not self.warmup:
            return self.decay
        return min(self.decay, 1.0 - (1.0 + self.num_updates) ** (-2.0 / 3.0))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        decay = self.current_decay()
        source = model.state_dict()
        for name, avg in self.module.state_dict().items():
            new = source[name].detach()
            if avg.dtype.is_floating_point:
                avg.lerp_(new.to(avg.dtype), 1.0 - decay)
            else:
                avg.copy_(new)
        self.num_updates += 1

    @torch.no_grad()
    def copy_to(self, model: nn.Module) -> None:
        """Switch EMA: `model`'s parameters and buffers become the average, in place (the
        optimizer keeps holding the same tensors)."""
        average = self.module.state_dict()
        for name, value in model.state_dict().items():
            value.copy_(average[name])

    def state_dict(self) -> dict[str, Any]:
        return {"module": self.module.state_dict(), "num_updates": self.num_updates, "decay": self.decay}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        missing = {"module", "num_updates"} - set(state)
        if missing:
            raise EdgekitError(f"EMA state lacks {sorted(missing)}; expected a ModelEMA.state_dict() checkpoint")
        self.module.load_state_dict(state["module"])
        self.num_updates = int(state["num_updates"])
