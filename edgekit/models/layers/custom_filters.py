"""Hand-crafted convolution filters (Ismail-Fawaz, Devanne, Weber & Forestier, "Deep Learning for
Time Series Classification Using New Hand-Crafted Convolution Filters", IEEE BigData 2022), as used
by LITE / LITEMV (Ismail-Fawaz et al., arXiv 2409.02869): fixed, non-trainable filters that detect
increasing trends (alternating -1, +1: the sum of successive differences), decreasing trends (the
negation) and peaks (a parabolic -1, +2, -1 shape), at several lengths; ReLU keeps the detections.

Layout: `(B, C, T)` → `(B, num_filters · C, T)` per channel (`depthwise`, LITEMV) or
`(B, num_filters, T)` summed over channels (LITE). The weights are buffers: not trained, not counted
as parameters, saved with the model. Even-length filters get a leading zero tap, which makes the
centred "same" convolution exactly Keras' "same" padding of the authors' code (one more sample
after than before); causal convolutions only see the past either way.
"""

from __future__ import annotations

import torch
from torch import nn

from edgekit.models.layers.causal import Mask, StreamState, create_conv1d


def trend_filter(length: int, increasing: bool) -> torch.Tensor:
    """-1, +1, -1, +1, ... (increasing) or its negation (decreasing)."""
    signs = torch.tensor([1.0 if i % 2 else -1.0 for i in range(length)])
    return signs if increasing else -signs


def peak_filter(size: int) -> torch.Tensor:
    """Length `size + size // 2`: falling parabola arms of -1, a +2 bump in the middle (the authors' formula)."""
    quarter = size // 4
    left = torch.linspace(0.0, 1.0, quarter + 1)[1:] ** 2
    right = left.flip(0)
    return torch.cat([-left, -right, 2 * left, 2 * right, -left, -right])


def hand_crafted_filters(sizes: tuple[int, ...]) -> list[torch.Tensor]:
    """Increasing and decreasing filters of each size, peak filters of each size but the first."""
    return ([trend_filter(s, True) for s in sizes] + [trend_filter(s, False) for s in sizes]
            + [peak_filter(s) for s in sizes[1:]])


class HandCraftedFilters(nn.Module):
    def __init__(self, in_chs: int, sizes: tuple[int, ...] = (2, 4, 8, 16, 32, 64), depthwise: bool = True,
                 causal: bool = False):
        super().__init__()
        filters = hand_crafted_filters(tuple(sizes))
        self.convs = nn.ModuleList()
        for f in filters:
            if len(f) % 2 == 0:
                f = torch.cat([f.new_zeros(1), f])
            out = in_chs if depthwise else 1
            conv = create_conv1d(in_chs, out, len(f), groups=in_chs if depthwise else 1, bias=False, causal=causal)
            weight = f.view(1, 1, -1).expand(out, 1 if depthwise else in_chs, -1).clone()
            del conv.weight  # a fixed filter: a buffer in the parameter's place
            conv.register_buffer("weight", weight)
            self.convs.append(conv)
        self.out_chs = len(filters) * (in_chs if depthwise else 1)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor, mask: Mask = None, stream: StreamState | None = None) -> torch.Tensor:
        return self.act(torch.cat([conv(x, mask, stream) for conv in self.convs], dim=1))
