"""1D U-Net with squeeze-excite conv blocks and a small transformer bottleneck.

Ronneberger et al., "U-Net: Convolutional Networks for Biomedical Image Segmentation"
(arXiv 1505.04597) in 1D, each level's conv block gated by squeeze-excite (Hu et al.,
arXiv 1709.01507); the coarsest level runs pre-norm transformer blocks (Vaswani et al.,
arXiv 1706.03762) over its few steps. The decoder returns features at the input's full time
resolution, so they can be concatenated with other full-rate paths.

Layout: `(B, C, T)`; `mask` `(B, 1, T)` float. Downsampling is a stride-2 conv (k=3, p=1:
`ceil(T/2)` steps); upsampling repeats each step twice and crops to the skip's length, so every
real step of level i maps onto a real step of level i+1 and padding never reaches real steps.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from edgekit.models.layers.factories import LayerType
from edgekit.models.layers.residual_cnn import ConvNormAct1d
from edgekit.models.layers.squeeze_excite import SqueezeExcite
from edgekit.models.layers.squeezeformer import TransformerBlock


class SEConvBlock(nn.Module):
    """(conv-BN-act) x2 -> squeeze-excite (masked squeeze)."""

    def __init__(self, in_chs: int, out_chs: int, kernel_size: int = 3, rd_ratio: float = 0.25,
                 act_layer: LayerType = "silu"):
        super().__init__()
        self.conv1 = ConvNormAct1d(in_chs, out_chs, kernel_size, act_layer=act_layer)
        self.conv2 = ConvNormAct1d(out_chs, out_chs, kernel_size, act_layer=act_layer)
        self.se = SqueezeExcite(out_chs, rd_ratio=rd_ratio)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x, _ = self.conv1(x, mask)
        x, _ = self.conv2(x, mask)
        return self.se(x, mask)


class SEUNet1d(nn.Module):
    """Encoder (SE blocks, stride-2 downsampling) -> transformer bottleneck -> decoder with skips."""

    def __init__(
        self,
        in_chs: int,
        chs: tuple[int, ...] = (64, 128, 256),
        kernel_size: int = 3,
        num_heads: int = 4,
        bottleneck_layers: int = 1,
        act_layer: LayerType = "silu",
        drop: float = 0.1,
    ):
        super().__init__()
        if len(chs) < 2:
            raise ValueError(f"a U-Net needs at least two levels, got chs={chs}")
        self.out_chs = chs[0]
        ins = (in_chs,) + chs[:-2]
        self.enc = nn.ModuleList(SEConvBlock(i, c, kernel_size, act_layer=act_layer) for i, c in zip(ins, chs[:-1]))
        self.down = nn.ModuleList(ConvNormAct1d(c, c, 3, stride=2, act_layer=act_layer) for c in chs[:-1])
        self.mid = SEConvBlock(chs[-2], chs[-1], kernel_size, act_layer=act_layer)
        self.bottleneck = nn.ModuleList(
            TransformerBlock(chs[-1], num_heads, act_layer="gelu", drop=drop) for _ in range(bottleneck_layers)
        )
        # decoder level i takes level i+1 upsampled plus the level-i skip, back to chs[i]
        self.dec = nn.ModuleList(
            SEConvBlock(chs[i + 1] + chs[i], chs[i], kernel_size, act_layer=act_layer) for i in range(len(chs) - 1)
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        skips = []
        for enc, down in zip(self.enc, self.down):
            x = enc(x, mask)
            skips.append((x, mask))
            x, mask = down(x, mask)
        x = self.mid(x, mask)
        tokens, token_mask = x.transpose(1, 2), mask[:, 0] > 0
        for block in self.bottleneck:
            tokens = block(tokens, token_mask)
        x = tokens.transpose(1, 2)
        for dec, (skip, skip_mask) in zip(reversed(self.dec), reversed(skips)):
            up = F.interpolate(x, scale_factor=2.0, mode="nearest")[..., : skip.shape[-1]]
            x = dec(torch.cat([up, skip], dim=1), skip_mask)
        return x * skip_mask
