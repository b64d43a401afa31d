"""Spectrogram + 2D CNN teacher: each channel's time-frequency image, stacked as image channels
(as G2Net solutions stacked detectors' CQT images), through a small EfficientNet-style CNN.

STFT as a conv1d with Hann-windowed DFT kernels (`layers/spectrogram.py`; ONNX-exportable, unlike
`torch.stft`), or the same bank made trainable, or a Morlet wavelet scalogram (`frontend = "cwt"`,
`layers/cwt.py`, as G2Net's CWT models); log1p of the power; MBConv-2D blocks with SE
(Tan & Le, "EfficientNet", arXiv 1905.11946; `layers/mbconv2d.py`); masked pooling over frequency
and real frames (`pool`: mean by default, or max, GeM, attention; `layers/global_pool.py`); heads.
Without a layout the raw channels are transformed; with one, the modality stem first maps them to
`spec_chs` channels (ToF's 320 pixels would make 320 images).

Layout: `(B, T, C)` at the edges, `(B, C, T)` into the STFT, `(B, C, F, N)` in the 2D CNN.
"""

from __future__ import annotations

import torch
from torch import nn

from edgekit.models.layers.global_pool import create_global_pool
from edgekit.models.layers.mbconv2d import ConvNormAct2d, MBConvStack2d, MBConvStage
from edgekit.models.layers.modality import InputLayout
from edgekit.models.layers.spectrogram import SpectrogramFrontend, create_frontend
from edgekit.models.registry import register_model
from edgekit.models.teachers.base import TeacherBase

DEFAULT_STAGES = (
    MBConvStage(16, 1, (1, 1), exp_ratio=1.0),
    MBConvStage(24, 2, (2, 2)),
    MBConvStage(48, 2, (2, 2)),
    MBConvStage(96, 2, (2, 1)),
    MBConvStage(128, 1, (1, 1)),
)


class _RawChannels(nn.Module):
    """Stem used without a layout: the raw channels, NaN read as 0 (as the modality stem does)."""

    def forward(self, x: torch.Tensor, mask: torch.Tensor, modality_mask: torch.Tensor | None = None) -> torch.Tensor:
        return torch.where(torch.isfinite(x), x, torch.zeros_like(x))


class Spectro2d(TeacherBase):
    def __init__(self, in_chs: int, num_classes: int, n_fft: int = 32, hop_length: int = 4,
                 frontend: SpectrogramFrontend | str = SpectrogramFrontend.STFT, spec_chs: int | None = None,
                 stem_chs: int = 32, stages: tuple[MBConvStage, ...] = DEFAULT_STAGES, head_chs: int = 256,
                 drop: float = 0.2, drop_path: float = 0.1, layout: InputLayout | None = None, pool: str = "avg"):
        pool_layer, num_features = create_global_pool(pool, head_chs)
        super().__init__(in_chs, num_classes, layout, num_features, drop)
        if layout is None and spec_chs is None:
            self.stem, spec_chs = _RawChannels(), in_chs
        else:
            spec_chs = spec_chs or 16
            self.stem = self.make_stem(spec_chs)
        # keeps the name `stft` whatever the front end: saved learned banks load as `stft.kernels`
        self.stft = create_frontend(frontend, n_fft, hop_length)
        self.cnn = MBConvStack2d(spec_chs, stem_chs, stages, drop_path=drop_path)
        self.conv_head = ConvNormAct2d(self.cnn.out_chs, head_chs, 1)
        self.pool = pool_layer

    def forward_features(self, x, mask, modality_mask):
        m = mask.to(x.dtype).unsqueeze(1)
        x = self.stem(x, mask, modality_mask).transpose(1, 2) * m
        spec = torch.log1p(self.stft(x))
        h, frame_mask = self.cnn(spec, self.stft.frame_mask(m, spec))
        h, _ = self.conv_head(h, frame_mask)
        plane_mask = (torch.ones_like(h[:, :1]) * frame_mask).flatten(2)
        return self.pool(h.flatten(2), plane_mask)


@register_model(kind="teacher")
def spectro2d(in_chs: int, num_classes: int, n_fft: int = 32, hop_length: int = 4,
              frontend: SpectrogramFrontend | str = SpectrogramFrontend.STFT, spec_chs: int | None = None,
              stem_chs: int = 32, stages: tuple[MBConvStage, ...] = DEFAULT_STAGES, head_chs: int = 256,
              drop: float = 0.2, drop_path: float = 0.1, layout: InputLayout | None = None,
              pool: str = "avg") -> Spectro2d:
    """Per-channel STFT (conv DFT bank) or Morlet CWT images -> MBConv-2D + SE CNN -> masked pooling -> heads."""
    return Spectro2d(in_chs, num_classes, n_fft, hop_length, frontend, spec_chs, stem_chs, stages, head_chs,
                     drop, drop_path, layout, pool)
