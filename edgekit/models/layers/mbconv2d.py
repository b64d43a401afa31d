"""MBConv for time-frequency images: inverted residual with squeeze-excite, in 2D.

Tan & Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks"
(arXiv 1905.11946), after MobileNetV2 (Sandler et al., arXiv 1801.04381): 1x1 expansion by
`exp_ratio` (skipped at 1) -> depthwise k x k (stride over frequency and time) -> squeeze-excite
reduced relative to `in_chs` -> linear 1x1 projection; residual with stochastic depth when the
shape is kept. The 1D sibling is `mbconv.py`.

Layout: `(B, C, F, T)` — frequency rows, time (frame) columns; `mask` `(B, 1, 1, T)` float,
1 = real frame. Padded frames are zeroed before every conv that mixes time and skipped by the
squeeze and by BatchNorm statistics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from edgekit.models.layers.drop_path import DropPath
from edgekit.models.layers.factories import LayerType, get_act
from edgekit.models.layers.masking import MaskedBatchNorm, MaskedIdentity, resample_mask
from edgekit.models.layers.squeeze_excite import SqueezeExcite


@dataclass(frozen=True)
class MBConvStage:
    """`depth` MBConv blocks to `out_chs`; the first strides by `stride` = (frequency, time)."""

    out_chs: int
    depth: int = 1
    stride: tuple[int, int] = (1, 1)
    exp_ratio: float = 4.0
    kernel_size: int = 3


class ConvNormAct2d(nn.Module):
    """Conv2d (padding k // 2) -> masked BatchNorm -> activation; returns the resampled time mask."""

    def __init__(self, in_chs: int, out_chs: int, kernel_size: int = 3, stride: tuple[int, int] = (1, 1),
                 groups: int = 1, act_layer: LayerType = "silu"):
        super().__init__()
        self.kernel_size, self.stride_t = kernel_size, stride[1]
        self.conv = nn.Conv2d(in_chs, out_chs, kernel_size, stride, kernel_size // 2, groups=groups, bias=False)
        self.norm = MaskedBatchNorm(out_chs)
        self.act = get_act(act_layer)()

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = self.conv(x * mask)
        mask = resample_mask(mask, y, self.kernel_size, self.stride_t, self.kernel_size // 2)
        return self.act(self.norm(y, mask)), mask


class MBConv2d(nn.Module):
    def __init__(self, in_chs: int, out_chs: int, kernel_size: int = 3, stride: tuple[int, int] = (1, 1),
                 exp_ratio: float = 4.0, rd_ratio: float = 0.25, act_layer: LayerType = "silu",
                 drop_path: float = 0.0):
        super().__init__()
        mid_chs = max(1, round(in_chs * exp_ratio))
        self.has_skip = tuple(stride) == (1, 1) and in_chs == out_chs
        self.expand = ConvNormAct2d(in_chs, mid_chs, 1, act_layer=act_layer) if mid_chs != in_chs else MaskedIdentity()
        self.dw = ConvNormAct2d(mid_chs, mid_chs, kernel_size, stride, groups=mid_chs, act_layer=act_layer)
        self.se = SqueezeExcite(mid_chs, rd_channels=max(1, round(in_chs * rd_ratio)), act_layer=act_layer)
        self.project = ConvNormAct2d(mid_chs, out_chs, 1, act_layer="identity")
        self.drop_path = DropPath(drop_path) if self.has_skip else nn.Identity()

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h, _ = self.expand(x, mask)
        h, out_mask = self.dw(h, mask)
        h = self._squeeze_excite(h, out_mask)
        h, _ = self.project(h, out_mask)
        if self.has_skip:
            h = self.drop_path(h) + x
        return h, out_mask

    def _squeeze_excite(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # the 1D squeeze-excite over the flattened (F, T) plane, with the time mask spread over F
        plane_mask = (torch.ones_like(x[:, :1]) * mask).flatten(2)
        return self.se(x.flatten(2), plane_mask).reshape_as(x)


class MBConvStack2d(nn.Module):
    """Stem conv -> MBConv stages (from `MBConvStage` specs); `(B, C, F, T)` -> `(B, out_chs, F', T')`."""

    def __init__(self, in_chs: int, stem_chs: int, stages: tuple[MBConvStage, ...], act_layer: LayerType = "silu",
                 drop_path: float = 0.0):
        super().__init__()
        self.stem = ConvNormAct2d(in_chs, stem_chs, 3, act_layer=act_layer)
        blocks = []
        chs = stem_chs
        for stage in stages:
            for i in range(stage.depth):
                stride = tuple(stage.stride) if i == 0 else (1, 1)
                blocks.append(MBConv2d(chs, stage.out_chs, stage.kernel_size, stride, stage.exp_ratio,
                                       act_layer=act_layer, drop_path=drop_path))
                chs = stage.out_chs
        self.blocks = nn.ModuleList(blocks)
        self.out_chs = chs
        for module in self.modules():
            if isinstance(module, nn.Conv2d):  # EfficientNet's init (fan-out normal), as in timm
                fan_out = module.kernel_size[0] * module.kernel_size[1] * module.out_channels // module.groups
                nn.init.normal_(module.weight, 0.0, math.sqrt(2.0 / fan_out))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x, mask = self.stem(x, mask)
        for block in self.blocks:
            x, mask = block(x, mask)
        return x, mask
