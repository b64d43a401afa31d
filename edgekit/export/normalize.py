"""Input normalization folded into the exported graph, so the device feeds raw bridge features.

The run's `scaler.json` is the trainer's `Scaler` (`edgekit.train.tensors`): per input channel
`mean` and `std`, applied as `(nan_to_num(x) - mean) / std` before the model. `Normalized` wraps a
model so its window `forward` and, for streamable students, its `step` take raw features and do
exactly that inside the graph: mean and std are buffers, so they become constants of the one
self-contained ONNX file (IsNaN/Where, Sub, Div). Layout: `(B, T, C)` windows, `(B, C)` samples.

A model that takes per-sequence demographics (`edgekit.train.demographics`) gets them raw too,
`(B, D)`, normalised by the scaler's `demographics` part the way the trainer does it: an unknown
(NaN) value is the training mean, then `(d - mean) / std`.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from edgekit.errors import EdgekitError


def check_scaler(mean: np.ndarray, std: np.ndarray, channels: int | None = None) -> None:
    mean, std = np.asarray(mean, np.float64), np.asarray(std, np.float64)
    if mean.shape != std.shape or mean.ndim != 1:
        raise EdgekitError(f"scaler mean {mean.shape} and std {std.shape} must be two vectors of one entry per channel")
    if channels is not None and len(mean) != channels:
        raise EdgekitError(f"scaler has {len(mean)} channels but the model takes {channels}")
    bad = np.flatnonzero(~np.isfinite(mean) | ~np.isfinite(std) | (std <= 0))
    if bad.size:
        i = int(bad[0])
        raise EdgekitError(f"scaler channel {i}: mean {mean[i]}, std {std[i]}; expected finite values and std > 0")


class Normalized(nn.Module):
    """`model` behind the run's normalization: the graph edgekit exports (raw features in, logits out).

    `scaler` is anything with `mean` and `std` per channel (the trainer's `Scaler`). Only `forward`
    (and `step`) are wrapped: training-only heads such as the physics head live in
    `forward_train` and are not exported.
    """

    def __init__(self, model: nn.Module, scaler):
        from edgekit.train.demographics import demographics_width

        super().__init__()
        check_scaler(scaler.mean, scaler.std, getattr(model, "in_chs", None))
        self.model = model
        self.register_buffer("mean", torch.as_tensor(np.asarray(scaler.mean, np.float32)))
        self.register_buffer("std", torch.as_tensor(np.asarray(scaler.std, np.float32)))
        self.demo_chs = demographics_width(model)
        demo = getattr(scaler, "demographics", None) if self.demo_chs else None
        if self.demo_chs and demo is None:
            raise EdgekitError(f"the model takes {self.demo_chs} demographics columns but the scaler has no "
                               "demographics part; expected the run's scaler.json (edgekit train with "
                               "data.demographics = \"auto\" on data with a demographics table)")
        if demo is not None:
            check_scaler(demo.mean, demo.std, self.demo_chs)
        self.register_buffer("demo_mean", torch.as_tensor(np.asarray(demo.mean, np.float32)) if demo else None)
        self.register_buffer("demo_std", torch.as_tensor(np.asarray(demo.std, np.float32)) if demo else None)

    @property
    def in_chs(self) -> int:
        return self.mean.numel()

    @property
    def causal(self) -> bool:
        return bool(getattr(self.model, "causal", False))

    @property
    def state_shapes(self) -> list[tuple[int, ...]]:
        return list(getattr(self.model, "state_shapes", []))

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.where(torch.isnan(x), torch.zeros_like(x), x)  # the trainer's nan_to_num, for NaN
        return (x - self.mean) / self.std

    def normalize_demographics(self, demographics: torch.Tensor) -> torch.Tensor:
        known = torch.where(torch.isnan(demographics), self.demo_mean.expand_as(demographics), demographics)
        return (known - self.demo_mean) / self.demo_std

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None,
                demographics: torch.Tensor | None = None) -> torch.Tensor:
        if self.demo_chs and demographics is not None:
            return self.model(self.normalize(x), mask, demographics=self.normalize_demographics(demographics))
        return self.model(self.normalize(x), mask)

    def forward_sequence(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.model.forward_sequence(self.normalize(x), mask)

    def init_state(self, batch_size: int = 1) -> tuple[torch.Tensor, ...]:
        return self.model.init_state(batch_size)

    def step(self, x_t: torch.Tensor, *state: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.model.step(self.normalize(x_t), *state)
