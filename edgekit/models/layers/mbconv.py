"""MBConv for 1D sequences: inverted residual with squeeze-excite (Sandler et al., "MobileNetV2",
arXiv 1801.04381; Tan & Le, "EfficientNet", arXiv 1905.11946).

Layout: `(B, C, T)`. 1×1 expansion by `exp_ratio` (+ norm + act; skipped at ratio 1) → depthwise
temporal conv (+ norm + act) → squeeze-excite on the expanded channels, reduced relative to
`in_chs` as in EfficientNet → linear 1×1 projection (+ norm, no act). Residual (with stochastic
depth) only when stride is 1 and channels match.
"""

from __future__ import annotations

import torch
from torch import nn

from edgekit.models.layers.causal import Mask, StreamState, create_conv1d
from edgekit.models.layers.drop_path import DropPath
from edgekit.models.layers.factories import LayerType, get_act, get_norm
from edgekit.models.layers.squeeze_excite import SqueezeExcite


class MBConv1d(nn.Module):
    def __init__(self, in_chs: int, out_chs: int, kernel_size: int = 5, dilation: int = 1, stride: int = 1,
                 exp_ratio: float = 4.0, rd_ratio: float | None = 0.25, act_layer: LayerType = "silu",
                 norm_layer: LayerType = "batch", drop_path: float = 0.0, causal: bool = False):
        super().__init__()
        mid_chs = max(1, round(in_chs * exp_ratio))
        act, norm = get_act(act_layer), get_norm(norm_layer)
        self.stride = stride
        self.has_skip = stride == 1 and in_chs == out_chs
        expand = mid_chs != in_chs
        self.conv_pw = nn.Conv1d(in_chs, mid_chs, 1, bias=False) if expand else nn.Identity()
        self.norm_pw = norm(mid_chs) if expand else get_norm(None)(mid_chs)
        self.act_pw = act() if expand else nn.Identity()
        self.conv_dw = create_conv1d(mid_chs, mid_chs, kernel_size, dilation=dilation, stride=stride,
                                     groups=mid_chs, bias=False, causal=causal)
        self.norm_dw = norm(mid_chs)
        self.act_dw = act()
        rd_channels = max(1, round(in_chs * rd_ratio)) if rd_ratio else 0
        self.se = (SqueezeExcite(mid_chs, rd_channels=rd_channels, act_layer=act_layer, causal=causal)
                   if rd_ratio else nn.Identity())
        self.conv_pwl = nn.Conv1d(mid_chs, out_chs, 1, bias=False)
        self.norm_pwl = norm(out_chs)
        self.drop_path = DropPath(drop_path) if self.has_skip else nn.Identity()

    def forward(self, x: torch.Tensor, mask: Mask = None, stream: StreamState | None = None) -> torch.Tensor:
        shortcut = x
        x = self.conv_pw(x)
        x = self.norm_pw(x, mask)
        x = self.act_pw(x)
        x = self.conv_dw(x, mask, stream)
        if mask is not None and self.stride > 1:
            mask = mask[..., :: self.stride]
        x = self.norm_dw(x, mask)
        x = self.act_dw(x)
        x = self.se(x, mask, stream) if isinstance(self.se, SqueezeExcite) else x
        x = self.conv_pwl(x)
        x = self.norm_pwl(x, mask)
        if self.has_skip:
            x = self.drop_path(x) + shortcut
        return x
