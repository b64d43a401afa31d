"""Masked additive (MLP) attention pooling over time.

Attention pooling as in Bahdanau et al., "Neural Machine Translation by Jointly Learning to Align
and Translate" (arXiv 1409.0473), used as a sequence summary in Raffel & Ellis, "Feed-Forward
Networks with Attention Can Solve Some Long-Term Memory Problems" (arXiv 1512.08756):
`score_t = w^T tanh(W h_t)`, softmax over real steps, weighted sum.

Layout: `(B, T, C)` in (the edge of a recurrent stack), `(B, C)` out; `mask` `(B, T)` bool, True = real.
`AttentionPool1d` takes conv features `(B, C, T)` with a `(B, 1, T)` float mask instead (the
teachers' `pool = "attention"`); mean/max pooling of conv features lives in `pooling.py`.
"""

from __future__ import annotations

import torch
from torch import nn


class AttentionPool(nn.Module):
    """MLP attention pooling over real time steps: `(B, T, C) -> (B, C)`."""

    def __init__(self, in_chs: int, hidden_chs: int = 128):
        super().__init__()
        self.score = nn.Sequential(nn.Linear(in_chs, hidden_chs), nn.Tanh(), nn.Linear(hidden_chs, 1))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        scores = self.score(x).squeeze(-1)
        scores = torch.where(mask, scores, torch.full_like(scores, torch.finfo(scores.dtype).min))
        weights = torch.softmax(scores, dim=1) * mask.to(x.dtype)  # exact zeros on padding
        return (weights.unsqueeze(-1) * x).sum(dim=1)



class AttentionPool1d(AttentionPool):
    """The same pooling in conv-stack layout: `(B, C, T)` with a `(B, 1, T)` float mask -> `(B, C)`."""

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        real = torch.ones_like(x[:, 0], dtype=torch.bool) if mask is None else mask[:, 0] > 0
        return super().forward(x.transpose(1, 2), real)
