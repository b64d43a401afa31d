"""Large-kernel depthwise convolution + norm, the token mixer of ModernTCN (Luo & Wang, "ModernTCN:
A Modern Pure Convolution Structure for General Time Series Analysis", ICLR 2024; large kernels
after Ding et al., RepLKNet, arXiv 2203.06717).

Layout: `(B, C, T)`. One wide receptive field (k≈21) for a few multiply-adds per channel.
"""

from __future__ import annotations

import torch
from torch import nn

from edgekit.models.layers.causal import Mask, StreamState, create_conv1d
from edgekit.models.layers.factories import LayerType, get_norm


class LargeKernelConv(nn.Module):
    def __init__(self, chs: int, kernel_size: int = 21, dilation: int = 1, norm_layer: LayerType = "batch",
                 causal: bool = False):
        super().__init__()
        self.conv_dw = create_conv1d(chs, chs, kernel_size, dilation=dilation, groups=chs, causal=causal)
        self.norm = get_norm(norm_layer)(chs)

    def forward(self, x: torch.Tensor, mask: Mask = None, stream: StreamState | None = None) -> torch.Tensor:
        x = self.conv_dw(x, mask, stream)
        return self.norm(x, mask)
