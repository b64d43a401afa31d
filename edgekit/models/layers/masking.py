"""Padding masks for variable-length batches: mask resampling, in-length reversal, masked BatchNorm.

The padding contract of every teacher: sequences are RIGHT-padded, `mask` is `(B, T)` bool with
True on real samples, and the output for a sequence must equal the output for that sequence alone
(no padding). Inside conv stacks the mask is carried as a float `(B, 1, T)` (or `(B, 1, 1, T)` for
2D maps whose last axis is time), multiplied into the activations before every conv so padded
positions look exactly like the zero padding the unpadded sequence gets (the rule of `causal.py`;
masked pooling lives in `pooling.py`).

A strided conv or pool keeps an output position if the same position exists when the sequence is
run alone: `L_out = floor((L + 2p - k) / s) + 1` (ceil for `ceil_mode` pools). Positions are made
from `cumsum(ones)` rather than `arange(T)`, so ONNX graphs never bake a sequence length. (Also
avoid reshaping by a runtime size: the legacy exporter gives such tensors static shapes, and a
`ones_like` downstream of one baked B and T into a constant — see `spectrogram.py`.)
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


def lengths_of(mask: torch.Tensor) -> torch.Tensor:
    """Real-sample count along the last axis, keeping dims (float32: exact under autocast too)."""
    return mask.float().sum(dim=-1, keepdim=True)


def positions_like(x: torch.Tensor) -> torch.Tensor:
    """0, 1, 2, ... along the last axis of `x`, shaped like `x` (an ONNX-friendly arange).

    float32 whatever `x` is: bfloat16 counts exactly only up to 256.
    """
    return torch.cumsum(torch.ones_like(x, dtype=torch.float32), dim=-1) - 1.0


def resample_mask(
    mask: torch.Tensor,
    out: torch.Tensor,
    kernel_size: int,
    stride: int,
    padding: int = 0,
    ceil_mode: bool = False,
) -> torch.Tensor:
    """Float mask for the output `out` of a conv/pool with this geometry along the last axis.

    `mask` is `(B, 1, T)` or `(B, 1, 1, T)` float; the result has `out`'s last-axis length.
    """
    steps = (lengths_of(mask) + 2 * padding - kernel_size) / stride
    out_len = (torch.ceil(steps) if ceil_mode else torch.floor(steps)) + 1.0
    pos = positions_like(out[(slice(None), slice(0, 1)) + (slice(0, 1),) * (out.dim() - 3)])
    return (pos < out_len).to(out.dtype)


def reverse_within_length(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Reverse each `(B, T, C)` sequence within its real length; padded steps stay in place.

    An involution: applying it twice gives `x` back. `mask` is `(B, T)` bool.
    """
    m = mask.float()
    pos = positions_like(m)
    length = lengths_of(m)
    index = torch.where(pos < length, length - 1.0 - pos, pos).long()
    return torch.gather(x, 1, index.unsqueeze(-1).expand_as(x))


class MaskedBatchNorm(_BatchNorm):
    """BatchNorm whose training statistics ignore padded positions (eval: plain BatchNorm).

    Works on `(B, C, T)` and `(B, C, F, T)`; `mask` broadcasts against `x` (`(B, 1, T)` or
    `(B, 1, 1, T)`, float). Without the mask, padded zeros would bias the running statistics and
    the model would normalise differently in training and in eval.
    """

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() not in (3, 4):
            raise ValueError(f"MaskedBatchNorm expects (B, C, T) or (B, C, F, T), got {tuple(x.shape)}")

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if not self.training or mask is None:
            return super().forward(x)
        self._check_input_dim(x)
        out_dtype = x.dtype
        x, mask = x.float(), mask.float()  # statistics in float32, also under autocast
        dims = [0] + list(range(2, x.dim()))
        count = mask.expand_as(x[:, :1]).sum().clamp_min(1.0)
        mean = (x * mask).sum(dims) / count
        centred = x - _per_channel(mean, x)
        var = (centred.square() * mask).sum(dims) / count
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                momentum = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                unbiased = var * count / (count - 1.0).clamp_min(1.0)
                self.running_mean.lerp_(mean, momentum)
                self.running_var.lerp_(unbiased, momentum)
        y = centred * _per_channel(torch.rsqrt(var + self.eps), x)
        if self.affine:
            y = y * _per_channel(self.weight, x) + _per_channel(self.bias, x)
        return y.to(out_dtype)


def _per_channel(v: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return v.reshape((1, -1) + (1,) * (like.dim() - 2))


class MaskedIdentity(nn.Module):
    """Identity with the `(x, mask) -> (x, mask)` calling convention of masked blocks."""

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x, mask
