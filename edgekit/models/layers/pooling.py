"""Masked global pooling over time for offline models.

Layout: `(B, C, T)` in, `(B, C)` (or `(B, C, 1)` with `keepdim`) out; the mask is `(B, 1, T)` float,
1 = real sample, so padding never enters a mean or a max.

The mean is written as `adaptive_avg_pool1d`, which exports as ONNX `GlobalAveragePool`: onnxruntime
runs that in integer (`QLinearGlobalAveragePool`) in a quantized graph, where a `ReduceMean` stays
float between a dequantize and a quantize. With a mask, the masked mean is the mean of the masked
input divided by the mean of the mask (sum/T ÷ count/T), so the graph stays two pools and a divide.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def masked_mean(x: torch.Tensor, mask: torch.Tensor | None, keepdim: bool = False) -> torch.Tensor:
    if mask is None:
        pooled = F.adaptive_avg_pool1d(x, 1)
    else:
        real_fraction = F.adaptive_avg_pool1d(mask.to(x.dtype), 1)
        # an all-padding row has a zero numerator: any positive floor keeps it at 0 (not NaN)
        pooled = F.adaptive_avg_pool1d(x * mask, 1) / real_fraction.clamp(min=torch.finfo(x.dtype).tiny)
    return pooled if keepdim else pooled.squeeze(-1)


def masked_max(x: torch.Tensor, mask: torch.Tensor | None, keepdim: bool = False) -> torch.Tensor:
    if mask is None:
        return x.amax(dim=-1, keepdim=keepdim)
    return x.masked_fill(mask == 0, torch.finfo(x.dtype).min).amax(dim=-1, keepdim=keepdim)


class MaskedGlobalPool(nn.Module):
    """Global pooling over time: `"avg"`, `"max"` or `"avgmax"` (concatenated, 2·C features)."""

    def __init__(self, pool_type: str = "avg", keepdim: bool = False):
        super().__init__()
        if pool_type not in ("avg", "max", "avgmax"):
            raise ValueError(f"pool_type must be 'avg', 'max' or 'avgmax', not {pool_type!r}")
        self.pool_type = pool_type
        self.keepdim = keepdim

    def feature_mult(self) -> int:
        return 2 if self.pool_type == "avgmax" else 1

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, stream=None) -> torch.Tensor:
        if stream is not None:
            raise RuntimeError("global pooling sees the whole sequence and cannot stream; use RunningMeanPool")
        if self.pool_type == "avg":
            return masked_mean(x, mask, self.keepdim)
        if self.pool_type == "max":
            return masked_max(x, mask, self.keepdim)
        return torch.cat([masked_mean(x, mask, self.keepdim), masked_max(x, mask, self.keepdim)], dim=1)
