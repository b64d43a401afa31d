"""Bidirectional GRU over right-padded batches, exact for every sequence, without packing.

Cho et al., "Learning Phrase Representations using RNN Encoder-Decoder" (arXiv 1406.1078);
bidirectional RNNs after Schuster & Paliwal (1997). `pack_padded_sequence` does not export to
ONNX, so padding is handled by construction instead: the forward GRU runs over the right-padded
batch (its outputs at real steps never see the padding that follows), and the backward GRU runs
forward over each sequence reversed WITHIN its length (a gather), so it starts at the last real
sample exactly as it would on the sequence alone; its outputs are un-reversed by the same gather.
Both directions are plain unidirectional `nn.GRU`s, which the ONNX exporters map to `GRU` nodes.

Layout: `(B, T, C)` in, `(B, T, 2 * hidden_chs)` out; `mask` `(B, T)` bool, True = real.
"""

from __future__ import annotations

import torch
from torch import nn

from edgekit.models.layers.masking import reverse_within_length


class MaskedBiGRU(nn.Module):
    def __init__(self, in_chs: int, hidden_chs: int, num_layers: int = 1, drop: float = 0.0):
        super().__init__()
        dims = [in_chs] + [2 * hidden_chs] * (num_layers - 1)
        self.fwd = nn.ModuleList(nn.GRU(d, hidden_chs, batch_first=True) for d in dims)
        self.bwd = nn.ModuleList(nn.GRU(d, hidden_chs, batch_first=True) for d in dims)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask.to(x.dtype).unsqueeze(-1)
        for i, (fwd, bwd) in enumerate(zip(self.fwd, self.bwd)):
            x = self.drop(x) if i else x
            x = x * m
            out_f, _ = fwd(x)
            out_b, _ = bwd(reverse_within_length(x, mask))
            x = torch.cat([out_f, reverse_within_length(out_b, mask)], dim=-1)
        return x * m
