"""Inception modules and residual blocks of InceptionTime (Ismail Fawaz et al., "InceptionTime:
Finding AlexNet for Time Series Classification", DMKD 2020, arXiv 1909.04939).

A module: 1×1 bottleneck → parallel convs of long kernels (the paper's 40/20/10, odd here: 39/19/9,
so "same" padding is centred), beside max-pool(3) → 1×1 on the module input; concatenated →
BatchNorm → ReLU. A block: `depth` modules with a 1×1 conv + BatchNorm shortcut around them
(the paper adds one every 3 modules).

Layout: `(B, C, T)`, mask `(B, 1, T)` float (1 = real). Convs read `x * mask` (`causal.py`'s rule);
the max-pool reads padded steps as the lowest float, as a sequence alone is padded with -inf.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from edgekit.models.layers.causal import Mask, SameConv1d
from edgekit.models.layers.factories import LayerType, get_act
from edgekit.models.layers.masking import MaskedBatchNorm


def _masked_max_pool3(x: torch.Tensor, mask: Mask) -> torch.Tensor:
    if mask is None:
        return F.max_pool1d(x, 3, 1, 1)
    low = torch.full_like(x, torch.finfo(x.dtype).min)
    return F.max_pool1d(torch.where(mask > 0, x, low), 3, 1, 1) * mask  # padded outputs back to 0


class InceptionModule(nn.Module):
    def __init__(self, in_chs: int, out_chs: int = 32, kernel_sizes: tuple[int, ...] = (39, 19, 9),
                 bottleneck_chs: int = 32, act_layer: LayerType = "relu"):
        super().__init__()
        use_bottleneck = bottleneck_chs > 0 and in_chs > 1
        self.bottleneck = nn.Conv1d(in_chs, bottleneck_chs, 1, bias=False) if use_bottleneck else nn.Identity()
        mid = bottleneck_chs if use_bottleneck else in_chs
        self.convs = nn.ModuleList(SameConv1d(mid, out_chs, k, bias=False) for k in kernel_sizes)
        self.pool_conv = nn.Conv1d(in_chs, out_chs, 1, bias=False)
        self.out_chs = out_chs * (len(kernel_sizes) + 1)
        self.norm = MaskedBatchNorm(self.out_chs)
        self.act = get_act(act_layer)()

    def forward(self, x: torch.Tensor, mask: Mask = None) -> torch.Tensor:
        mid = self.bottleneck(x)
        branches = [conv(mid, mask) for conv in self.convs]
        branches.append(self.pool_conv(_masked_max_pool3(x, mask)))
        return self.act(self.norm(torch.cat(branches, dim=1), mask))


class InceptionBlock(nn.Module):
    """`depth` Inception modules with a residual shortcut (1×1 conv + BatchNorm) around them."""

    def __init__(self, in_chs: int, out_chs: int = 32, depth: int = 3, kernel_sizes: tuple[int, ...] = (39, 19, 9),
                 bottleneck_chs: int = 32, act_layer: LayerType = "relu"):
        super().__init__()
        modules, chs = [], in_chs
        for _ in range(depth):
            modules.append(InceptionModule(chs, out_chs, kernel_sizes, bottleneck_chs, act_layer))
            chs = modules[-1].out_chs
        self.stack = nn.ModuleList(modules)
        self.out_chs = chs
        self.shortcut = nn.Conv1d(in_chs, chs, 1, bias=False)
        self.shortcut_norm = MaskedBatchNorm(chs)
        self.act = get_act(act_layer)()

    def forward(self, x: torch.Tensor, mask: Mask = None) -> torch.Tensor:
        h = x
        for module in self.stack:
            h = module(h, mask)
        shortcut = self.shortcut_norm(self.shortcut(x), mask)
        return self.act(h + shortcut)
