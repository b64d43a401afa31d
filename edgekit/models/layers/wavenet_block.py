"""WaveNet-style gated dilated convolutions.

van den Oord et al., "WaveNet: A Generative Model for Raw Audio" (arXiv 1609.03499): the gated
activation `tanh(W_f * x) * sigmoid(W_g * x)` over dilated convs, with residual and skip 1x1
convs. Used non-causally ("same" padding) here, for whole-sequence teachers:
- `GatedResidualBlock` / `WaveNetStack`: the residual + skip stack (as in the G2Net 1D pipelines);
- `WaveBlock`: the Kaggle "WaveBlock" (1x1 in, then gated convs with dilations 1, 2, 4, ... whose
  1x1 outputs are summed onto the input), used beside U-Nets in CMI solutions.

Layout: `(B, C, T)`; `mask` `(B, 1, T)` float; the time length never changes.
"""

from __future__ import annotations

import torch
from torch import nn


class GatedConv1d(nn.Module):
    """`tanh(conv_f(x)) * sigmoid(conv_g(x))` with one dilated conv producing both halves."""

    def __init__(self, in_chs: int, out_chs: int, kernel_size: int = 3, dilation: int = 1):
        super().__init__()
        padding = dilation * (kernel_size - 1) // 2
        self.conv = nn.Conv1d(in_chs, 2 * out_chs, kernel_size, padding=padding, dilation=dilation)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        f, g = self.conv(x * mask).chunk(2, dim=1)
        return torch.tanh(f) * torch.sigmoid(g)


class GatedResidualBlock(nn.Module):
    """Gated dilated conv -> 1x1 residual (added to the input) and 1x1 skip output."""

    def __init__(self, in_chs: int, skip_chs: int, kernel_size: int = 3, dilation: int = 1, drop: float = 0.0):
        super().__init__()
        self.gate = GatedConv1d(in_chs, in_chs, kernel_size, dilation)
        self.drop = nn.Dropout(drop)
        self.res = nn.Conv1d(in_chs, in_chs, 1)
        self.skip = nn.Conv1d(in_chs, skip_chs, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.drop(self.gate(x, mask))
        return x + self.res(h), self.skip(h)


class WaveNetStack(nn.Module):
    """1x1 stem -> gated residual blocks (one per dilation) -> ReLU(sum of skips) -> 1x1 -> ReLU."""

    def __init__(
        self,
        in_chs: int,
        out_chs: int,
        dilations: tuple[int, ...] = (1, 2, 4, 8, 16),
        kernel_size: int = 3,
        skip_chs: int | None = None,
        drop: float = 0.0,
    ):
        super().__init__()
        skip_chs = skip_chs or out_chs
        self.stem = nn.Conv1d(in_chs, out_chs, 1)
        self.blocks = nn.ModuleList(GatedResidualBlock(out_chs, skip_chs, kernel_size, d, drop) for d in dilations)
        self.head = nn.Sequential(nn.ReLU(), nn.Conv1d(skip_chs, out_chs, 1), nn.ReLU())

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        skips = torch.zeros_like(x[:, :1])
        for block in self.blocks:
            x, skip = block(x, mask)
            skips = skips + skip
        return self.head(skips)


class WaveBlock(nn.Module):
    """Kaggle WaveBlock: `x = conv1x1(x)`, then `num_rates` times `x += conv1x1(gated_conv(x, 2**i))`."""

    def __init__(self, in_chs: int, out_chs: int, num_rates: int = 8, kernel_size: int = 3):
        super().__init__()
        self.stem = nn.Conv1d(in_chs, out_chs, 1)
        self.gates = nn.ModuleList(GatedConv1d(out_chs, out_chs, kernel_size, 2**i) for i in range(num_rates))
        self.projs = nn.ModuleList(nn.Conv1d(out_chs, out_chs, 1) for _ in range(num_rates))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.stem(x * mask)
        res = x
        for gate, proj in zip(self.gates, self.projs):
            x = proj(gate(x, mask))
            res = res + x
        return res
