"""U-Net/SE + WaveBlock + BiGRU teacher, after CMI "Detect Behavior with Sensor Data" solutions.

Two full-rate paths over the modality stem's `(B, C, T)` features, concatenated over channels:
an SE U-Net with a transformer bottleneck (`layers/unet.py`; Ronneberger et al., arXiv 1505.04597,
SE after Hu et al., arXiv 1709.01507) and a WaveNet-style WaveBlock (`layers/wavenet_block.py`;
arXiv 1609.03499). A bidirectional GRU over the concatenation, masked attention pooling, then a
dense layer and the multiclass and binary heads. Layout: `(B, T, C)` at the edges.
"""

from __future__ import annotations

import torch
from torch import nn

from edgekit.models.layers.attention_pool import AttentionPool
from edgekit.models.layers.bigru import MaskedBiGRU
from edgekit.models.layers.modality import InputLayout
from edgekit.models.layers.unet import SEUNet1d
from edgekit.models.layers.wavenet_block import WaveBlock
from edgekit.models.registry import register_model
from edgekit.models.teachers.base import TeacherBase


class UNetSEWaveGru(TeacherBase):
    def __init__(self, in_chs: int, num_classes: int, stem_chs: int = 64, unet_chs: tuple[int, ...] = (64, 128, 256),
                 num_heads: int = 4, bottleneck_layers: int = 1, wave_chs: int = 64, wave_rates: int = 6,
                 gru_hidden: int = 128, head_chs: int = 128, drop: float = 0.2, layout: InputLayout | None = None):
        super().__init__(in_chs, num_classes, layout, head_chs, drop)
        self.stem = self.make_stem(stem_chs)
        self.unet = SEUNet1d(stem_chs, unet_chs, num_heads=num_heads, bottleneck_layers=bottleneck_layers, drop=drop)
        self.wave = WaveBlock(stem_chs, wave_chs, wave_rates)
        self.gru = MaskedBiGRU(unet_chs[0] + wave_chs, gru_hidden, drop=drop)
        self.pool = AttentionPool(2 * gru_hidden)
        self.neck = nn.Sequential(nn.Linear(2 * gru_hidden, head_chs), nn.SiLU(), nn.Dropout(drop))

    def forward_features(self, x, mask, modality_mask):
        x = self.stem(x, mask, modality_mask).transpose(1, 2)
        m = mask.to(x.dtype).unsqueeze(1)
        x = torch.cat([self.unet(x, m), self.wave(x, m)], dim=1)
        x = self.gru(x.transpose(1, 2), mask)
        return self.neck(self.pool(x, mask))


@register_model(kind="teacher")
def unet_se_wave_gru(in_chs: int, num_classes: int, stem_chs: int = 64, unet_chs: tuple[int, ...] = (64, 128, 256),
                     num_heads: int = 4, bottleneck_layers: int = 1, wave_chs: int = 64, wave_rates: int = 6,
                     gru_hidden: int = 128, head_chs: int = 128, drop: float = 0.2,
                     layout: InputLayout | None = None) -> UNetSEWaveGru:
    """SE U-Net (transformer bottleneck) in parallel with a WaveBlock -> BiGRU -> attention pooling."""
    return UNetSEWaveGru(in_chs, num_classes, stem_chs, unet_chs, num_heads, bottleneck_layers, wave_chs,
                         wave_rates, gru_hidden, head_chs, drop, layout)
