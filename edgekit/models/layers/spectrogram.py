"""Spectrogram front-ends: an STFT written as a strided conv1d, exportable to ONNX.

The short-time Fourier transform (Allen, "Short term spectral analysis, synthesis, and
modification by discrete Fourier transform", 1977) as a bank of Hann-windowed DFT kernels
(`cos` and `-sin` rows, one pair per one-sided bin) applied with `conv1d(stride=hop_length)`.
`torch.stft` has no ONNX export in the legacy exporter; a conv exports everywhere and equals
`torch.stft(x, n_fft, hop_length, window=hann_window(n_fft), center=True, pad_mode="constant")`.
As in learnable front-ends (Zeghidour et al., LEAF, arXiv 2101.08596), the same bank can instead
be a trainable conv initialised at the DFT (`SpectrogramFrontend.LEARNED`). `create_frontend` also
offers the Morlet wavelet scalogram of `cwt.py` (`SpectrogramFrontend.CWT`) behind the same interface.

Layout: `(B, C, T)` in (conv-stack layout), power `(B, C, F, N)` out with `F = n_fft // 2 + 1`
bins and `N` frames; every channel gets its own time-frequency image through the same kernels.
Padding: frame j covers input `[j*hop - n_fft//2, j*hop + n_fft//2)`; frames that would not
exist for the unpadded sequence (they overlap padding beyond the constant zero pad the sequence
gets alone) are masked — `stft_mask`.
"""

from __future__ import annotations

import enum
import math

import torch
import torch.nn.functional as F
from torch import nn

from edgekit.errors import EdgekitError
from edgekit.models.layers.cwt import MorletCwt
from edgekit.models.layers.masking import resample_mask


class SpectrogramFrontend(enum.Enum):
    STFT = "stft"  # fixed Hann-windowed DFT kernels
    LEARNED = "learned"  # the same conv, trainable, initialised at the DFT
    CWT = "cwt"  # Morlet wavelet scalogram (cwt.py), constant-Q


def dft_kernels(n_fft: int) -> torch.Tensor:
    """`(2 * (n_fft // 2 + 1), 1, n_fft)`: Hann-windowed real rows, then imaginary rows."""
    n = torch.arange(n_fft, dtype=torch.float64)
    k = torch.arange(n_fft // 2 + 1, dtype=torch.float64)
    angle = 2.0 * math.pi * k[:, None] * n[None, :] / n_fft
    window = torch.hann_window(n_fft, periodic=True, dtype=torch.float64)
    bank = torch.cat([torch.cos(angle) * window, -torch.sin(angle) * window], dim=0)
    return bank.unsqueeze(1).float()


class StftConv(nn.Module):
    """Power spectrogram `|STFT|^2` of each channel: `(B, C, T) -> (B, C, n_fft//2 + 1, N)`."""

    def __init__(self, n_fft: int = 32, hop_length: int = 4, frontend: SpectrogramFrontend | str = "stft"):
        super().__init__()
        frontend = SpectrogramFrontend(frontend)
        if frontend is SpectrogramFrontend.CWT:
            raise ValueError("StftConv computes the STFT; build the CWT front end with create_frontend")
        self.n_fft, self.hop_length, self.padding = n_fft, hop_length, n_fft // 2
        self.n_bins = n_fft // 2 + 1
        if frontend is SpectrogramFrontend.LEARNED:
            self.kernels = nn.Parameter(dft_kernels(n_fft))
        else:
            self.register_buffer("kernels", dft_kernels(n_fft), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # a (1, n_fft) conv2d over (B, 1, C, T) applies the one bank to every channel without a
        # reshape: the legacy ONNX exporter gives reshaped tensors static shapes, baking B and T
        bank = self.kernels.unsqueeze(2)  # (2F, 1, 1, n_fft)
        frames = F.conv2d(x.unsqueeze(1), bank, stride=(1, self.hop_length), padding=(0, self.padding))
        power = frames[:, : self.n_bins].square() + frames[:, self.n_bins :].square()  # (B, F, C, N)
        return power.transpose(1, 2)

    def magnitude(self, x: torch.Tensor) -> torch.Tensor:
        """`|STFT|`, for comparison with `torch.stft(...).abs()`."""
        return self.forward(x).sqrt()

    def frame_mask(self, mask: torch.Tensor, spec: torch.Tensor) -> torch.Tensor:
        """`(B, 1, 1, N)` float frame mask from the `(B, 1, T)` sample mask."""
        return resample_mask(mask.unsqueeze(2), spec, self.n_fft, self.hop_length, self.padding)


def create_frontend(frontend: SpectrogramFrontend | str, n_fft: int = 32, hop_length: int = 4) -> nn.Module:
    """The time-frequency front end named by `frontend`: `(B, C, T) -> (B, C, F, N)` power, with
    `frame_mask(mask, spec)`. The CWT spans the STFT's band (1 / n_fft up to 0.4 cycles per
    sample) with as many rows (n_fft // 2 + 1 scales), log-spaced instead of linear."""
    try:
        frontend = SpectrogramFrontend(frontend)
    except ValueError:
        choices = ", ".join(f.value for f in SpectrogramFrontend)
        raise EdgekitError(f"frontend = {frontend!r} is not a spectrogram front end; "
                           f"expected one of {choices}") from None
    if frontend is SpectrogramFrontend.CWT:
        return MorletCwt(n_fft // 2 + 1, hop_length, f_min=1.0 / n_fft)
    return StftConv(n_fft, hop_length, frontend)
