"""Residual 1D conv blocks: the ResNet basic block and the conv-attention-pool block of CMI teachers.

He et al., "Deep Residual Learning for Image Recognition" (arXiv 1512.03385), basic block in 1D;
the CMI variant adds coordinate attention (arXiv 2103.02907, see `coord_attention.py`), then
max-pools and drops out, as in the strong CNN-BiGRU-attention solutions of the CMI "Detect
Behavior with Sensor Data" competition.

Layout: `(B, C, T)`. Every block takes and returns `(x, mask)` with `mask` `(B, 1, T)` float
(1 = real); activations are zeroed on padding before each conv (see `masking.py`).
"""

from __future__ import annotations

import torch
from torch import nn

from edgekit.models.layers.coord_attention import CoordAttention1d
from edgekit.models.layers.factories import LayerType, get_act
from edgekit.models.layers.masking import MaskedBatchNorm, MaskedIdentity, resample_mask


class ConvNormAct1d(nn.Module):
    """Conv1d ("same" padding for stride 1) -> masked BatchNorm -> activation."""

    def __init__(
        self,
        in_chs: int,
        out_chs: int,
        kernel_size: int = 3,
        stride: int = 1,
        dilation: int = 1,
        groups: int = 1,
        act_layer: LayerType = "relu",
    ):
        super().__init__()
        self.span = dilation * (kernel_size - 1) + 1
        self.stride = stride
        self.padding = (self.span - 1) // 2
        self.conv = nn.Conv1d(in_chs, out_chs, kernel_size, stride, self.padding, dilation, groups, bias=False)
        self.norm = MaskedBatchNorm(out_chs)
        self.act = get_act(act_layer)()

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = self.conv(x * mask)
        mask = resample_mask(mask, y, self.span, self.stride, self.padding)
        return self.act(self.norm(y, mask)), mask


class BasicBlock1d(nn.Module):
    """ResNet basic block: conv-BN-act, conv-BN, + shortcut (1x1 conv-BN when shape changes), act."""

    def __init__(
        self,
        in_chs: int,
        out_chs: int,
        kernel_size: int = 3,
        stride: int = 1,
        act_layer: LayerType = "relu",
        drop: float = 0.0,
    ):
        super().__init__()
        self.conv1 = ConvNormAct1d(in_chs, out_chs, kernel_size, stride, act_layer=act_layer)
        self.conv2 = ConvNormAct1d(out_chs, out_chs, kernel_size, act_layer="identity")
        needs_proj = stride != 1 or in_chs != out_chs
        self.shortcut = (
            ConvNormAct1d(in_chs, out_chs, 1, stride, act_layer="identity") if needs_proj else MaskedIdentity()
        )
        self.act = get_act(act_layer)()
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h, out_mask = self.conv1(x, mask)
        h, _ = self.conv2(h, out_mask)
        shortcut, _ = self.shortcut(x * mask, mask)
        return self.drop(self.act(h + shortcut)), out_mask


class ResidualCABlock(nn.Module):
    """CMI residual block: (conv-BN-act) x2 -> coordinate attention -> + shortcut -> act -> max-pool -> dropout."""

    def __init__(
        self,
        in_chs: int,
        out_chs: int,
        kernel_size: int = 3,
        pool_size: int = 2,
        rd_ratio: float = 1 / 16,
        act_layer: LayerType = "relu",
        drop: float = 0.3,
    ):
        super().__init__()
        self.conv1 = ConvNormAct1d(in_chs, out_chs, kernel_size, act_layer=act_layer)
        self.conv2 = ConvNormAct1d(out_chs, out_chs, kernel_size, act_layer=act_layer)
        self.attn = CoordAttention1d(out_chs, rd_ratio=rd_ratio)
        self.shortcut = (
            ConvNormAct1d(in_chs, out_chs, 1, act_layer="identity") if in_chs != out_chs else MaskedIdentity()
        )
        self.act = get_act(act_layer)()
        # ceil_mode keeps a last partial window so short sequences survive; padding enters the max as
        # the lowest float, i.e. not at all, as when the sequence is pooled alone
        self.pool_size = pool_size
        self.pool = nn.MaxPool1d(pool_size, pool_size, ceil_mode=True) if pool_size > 1 else nn.Identity()
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h, _ = self.conv1(x, mask)
        h, _ = self.conv2(h, mask)
        h = self.attn(h * mask, mask)
        shortcut, _ = self.shortcut(x * mask, mask)
        y = self.act(h + shortcut)
        y = self.pool(torch.where(mask > 0, y, torch.full_like(y, torch.finfo(y.dtype).min)))
        mask = resample_mask(mask, y, self.pool_size, self.pool_size, ceil_mode=True)
        return self.drop(y * mask), mask
