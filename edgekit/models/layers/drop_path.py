"""Stochastic depth (Huang et al. 2016, "Deep Networks with Stochastic Depth", arXiv 1603.09382).

Drops a residual branch for whole samples during training; identity at inference. Any layout.
"""

from __future__ import annotations

import torch
from torch import nn


class DropPath(nn.Module):
    def __init__(self, drop: float = 0.0):
        super().__init__()
        self.drop = drop

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.drop == 0.0 or not self.training:
            return x
        keep = 1.0 - self.drop
        shape = (x.shape[0],) + (1,) * (x.ndim - 1)
        return x * x.new_empty(shape).bernoulli_(keep).div_(keep)
