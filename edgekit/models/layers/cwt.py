"""Continuous wavelet transform with Morlet wavelets, written as a strided conv, exportable to ONNX.

Morlet (Gabor) wavelets `exp(i w0 t / s) exp(-t^2 / 2 s^2)` (Grossmann & Morlet 1984; see Torrence
& Compo, "A Practical Guide to Wavelet Analysis", 1998), the scalogram front end the G2Net (Kaggle
2021) spectrogram CNNs used beside the CQT. Scale `s` (in samples) has centre frequency
`w0 / (2 pi s)` cycles per sample; `num_scales` centre frequencies are log-spaced from `f_min` to
`f_max`, so resolution is constant-Q like the CQT. The bank (real rows, then imaginary rows, each
scale's Gaussian envelope summing to 1, so a complex exponential at a scale's centre frequency
has magnitude 1 there) is a fixed buffer applied like the STFT of `spectrogram.py`, with the
same centring: frame `j` is centred on sample `j * hop_length`.

Layout: `(B, C, T)` in, power `(B, C, num_scales, N)` out, lowest frequency first (the STFT's
order). Kernels are as long as the widest wavelet's ±4σ support; padding frames are masked with
the same rule as the STFT's (`frame_mask`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from edgekit.models.layers.masking import resample_mask


def morlet_centre_frequencies(num_scales: int, f_min: float, f_max: float) -> torch.Tensor:
    """Log-spaced centre frequencies (cycles per sample), ascending, float64."""
    if not 0.0 < f_min < f_max <= 0.5:
        raise ValueError(f"need 0 < f_min < f_max <= 0.5 cycles per sample, got f_min={f_min}, f_max={f_max}")
    return torch.logspace(math.log10(f_min), math.log10(f_max), num_scales, dtype=torch.float64)


def morlet_kernels(freqs: torch.Tensor, w0: float = 6.0) -> torch.Tensor:
    """`(2 * S, 1, K)`: real rows, then imaginary rows; `K` even, the wavelet centred at `K // 2`."""
    scales = w0 / (2.0 * math.pi * freqs)
    half = math.ceil(4.0 * float(scales.max()))
    t = torch.arange(-half, half, dtype=torch.float64)
    envelope = torch.exp(-0.5 * (t[None, :] / scales[:, None]) ** 2)
    envelope = envelope / envelope.sum(dim=1, keepdim=True)
    phase = 2.0 * math.pi * freqs[:, None] * t[None, :]
    # correlation (what conv computes) with exp(-i phase) = the transform with the conjugate wavelet
    bank = torch.cat([envelope * torch.cos(phase), -envelope * torch.sin(phase)], dim=0)
    return bank.unsqueeze(1).float()


class MorletCwt(nn.Module):
    """Morlet scalogram power of each channel: `(B, C, T) -> (B, C, num_scales, N)`."""

    def __init__(self, num_scales: int = 17, hop_length: int = 4, f_min: float = 1 / 32, f_max: float = 0.4,
                 w0: float = 6.0):
        super().__init__()
        self.freqs = morlet_centre_frequencies(num_scales, f_min, f_max).float()
        bank = morlet_kernels(self.freqs.double(), w0)
        self.register_buffer("kernels", bank, persistent=False)
        self.kernel_size, self.hop_length, self.padding = bank.shape[-1], hop_length, bank.shape[-1] // 2
        self.n_bins = num_scales

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # the STFT's trick: a (1, K) conv2d over (B, 1, C, T), no reshape by runtime sizes
        bank = self.kernels.unsqueeze(2)  # (2S, 1, 1, K)
        coeffs = F.conv2d(x.unsqueeze(1), bank, stride=(1, self.hop_length), padding=(0, self.padding))
        power = coeffs[:, : self.n_bins].square() + coeffs[:, self.n_bins :].square()  # (B, S, C, N)
        return power.transpose(1, 2)

    def frame_mask(self, mask: torch.Tensor, spec: torch.Tensor) -> torch.Tensor:
        """`(B, 1, 1, N)` float frame mask from the `(B, 1, T)` sample mask."""
        return resample_mask(mask.unsqueeze(2), spec, self.kernel_size, self.hop_length, self.padding)
