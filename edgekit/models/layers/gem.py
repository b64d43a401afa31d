"""Masked generalized-mean (GeM) pooling over time.

Radenović, Tolias & Chum, "Fine-tuning CNN Image Retrieval with No Human Annotation"
(arXiv 1711.02512): `(mean_t x_t^p)^(1/p)` with a learned exponent `p` — `p = 1` is the average,
`p → ∞` the max — as the pooling of the G2Net (Kaggle 2021) spectrogram and 1D CNN pipelines.

Layout: `(B, C, T)` in, `(B, C)` out; `mask` `(B, 1, T)` float, 1 = real. Inputs are clamped at
`eps` (GeM is defined on non-negative activations) and padded steps are set to `eps` before the
power, so padding neither enters the mean nor overflows; the mean is the masked one of `pooling.py`.
"""

from __future__ import annotations

import torch
from torch import nn

from edgekit.models.layers.pooling import masked_mean


class MaskedGeM(nn.Module):
    """Generalized-mean pooling over real steps with one learned exponent `p` (init 3)."""

    def __init__(self, p: float = 3.0, eps: float = 1e-6, learn_p: bool = True):
        super().__init__()
        p = torch.full((1,), float(p))
        if learn_p:
            self.p = nn.Parameter(p)
        else:
            self.register_buffer("p", p)
        self.eps = eps

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        x = x.clamp(min=self.eps)
        if mask is not None:
            x = x.masked_fill(mask == 0, self.eps)
        return masked_mean(x.pow(self.p), mask).pow(1.0 / self.p)
