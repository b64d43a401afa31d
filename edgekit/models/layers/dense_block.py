"""DenseNet blocks in 1D: dense layers that concatenate a `growth_rate`-wide output onto their
input, and transitions that compress channels and halve time.

Huang et al., "Densely Connected Convolutional Networks" (arXiv 1608.06993), DenseNet-BC:
a dense layer is `BN -> ReLU -> 1x1 conv (exp_ratio x growth) -> BN -> ReLU -> k conv (growth)`
(pre-activation); a transition is `BN -> ReLU -> 1x1 conv (x compression) -> 2-step average pool`.

Layout: `(B, C, T)`; blocks take and return `(x, mask)` with `mask` `(B, 1, T)` float (1 = real).
BatchNorm statistics skip padding and activations are zeroed on padding before the k conv, so a
padded sequence gives what it gives alone (see `masking.py`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from edgekit.models.layers.factories import LayerType, get_act
from edgekit.models.layers.masking import MaskedBatchNorm, resample_mask


class DenseLayer1d(nn.Module):
    """Pre-activation bottleneck: `(B, C, T) -> (B, growth_rate, T)` new features."""

    def __init__(self, in_chs: int, growth_rate: int, kernel_size: int = 3, exp_ratio: int = 4,
                 act_layer: LayerType = "relu", drop: float = 0.0):
        super().__init__()
        mid_chs = exp_ratio * growth_rate
        self.norm1 = MaskedBatchNorm(in_chs)
        self.act1 = get_act(act_layer)()
        self.conv1 = nn.Conv1d(in_chs, mid_chs, 1, bias=False)
        self.norm2 = MaskedBatchNorm(mid_chs)
        self.act2 = get_act(act_layer)()
        self.conv2 = nn.Conv1d(mid_chs, growth_rate, kernel_size, padding=(kernel_size - 1) // 2, bias=False)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.conv1(self.act1(self.norm1(x, mask)))
        h = self.conv2(self.act2(self.norm2(h, mask)) * mask)
        return self.drop(h)


class DenseBlock1d(nn.Module):
    """`depth` dense layers; each sees every earlier output. `in_chs + depth * growth_rate` out."""

    def __init__(self, in_chs: int, depth: int, growth_rate: int, kernel_size: int = 3, exp_ratio: int = 4,
                 act_layer: LayerType = "relu", drop: float = 0.0):
        super().__init__()
        self.layers = nn.ModuleList(
            DenseLayer1d(in_chs + i * growth_rate, growth_rate, kernel_size, exp_ratio, act_layer, drop)
            for i in range(depth)
        )
        self.out_chs = in_chs + depth * growth_rate

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        for layer in self.layers:
            x = torch.cat([x, layer(x, mask)], dim=1)
        return x, mask


class Transition1d(nn.Module):
    """BN -> act -> 1x1 conv to `out_chs` -> masked 2-step average pool over time."""

    def __init__(self, in_chs: int, out_chs: int, act_layer: LayerType = "relu"):
        super().__init__()
        self.norm = MaskedBatchNorm(in_chs)
        self.act = get_act(act_layer)()
        self.conv = nn.Conv1d(in_chs, out_chs, 1, bias=False)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.conv(self.act(self.norm(x, mask))) * mask
        # ceil_mode keeps an odd sequence's last step; dividing by the pooled mask makes that
        # half-window the mean of its real step alone, exactly as when the sequence runs unpadded
        pooled = F.avg_pool1d(h, 2, 2, ceil_mode=True)
        real = F.avg_pool1d(mask, 2, 2, ceil_mode=True)
        out_mask = resample_mask(mask, pooled, 2, 2, ceil_mode=True)
        return pooled / real.clamp(min=0.5) * out_mask, out_mask
