"""Per-window standardisation of the input channels, beside the channels as given.

`(B, C, T)` → `(B, 2C, T)`: the input, then each channel minus its window mean over its window
standard deviation (masked: padded samples count for neither and come out 0). Why: the per-channel
scaler divides by the spread of the whole training set, dominated by walking, so the small
movements that tell still postures apart (UCI-HAR: standing sways, sitting does not) arrive as
values near zero. Standardised within the window they are as large as any other window's.
Measured on UCI-HAR (ModernTCN-XS, 12 epochs of plain cross-entropy, raw channels): X_test
94.4 % → 97.4 %, sitting/standing errors 137 → 67.

The statistics are the window's, so this is for offline (window) students only. The export keeps
these nodes in float (`export.quantize.float_front_nodes`): quantized at the input's scale, the
small movements would round to zero before they were standardised.
"""

from __future__ import annotations

import torch
from torch import nn

EPS = 1e-6  # on the variance, in scaled units: a constant channel comes out 0, not noise blown up


class WindowStandardize(nn.Module):
    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is None:
            mean = x.mean(dim=-1, keepdim=True)
            centred = x - mean
            var = (centred * centred).mean(dim=-1, keepdim=True)
            return torch.cat([x, centred * torch.rsqrt(var + EPS)], dim=1)
        count = mask.sum(dim=-1, keepdim=True).clamp_min(1.0)
        mean = (x * mask).sum(dim=-1, keepdim=True) / count
        centred = (x - mean) * mask
        var = (centred * centred).sum(dim=-1, keepdim=True) / count
        return torch.cat([x, centred * torch.rsqrt(var + EPS)], dim=1)
