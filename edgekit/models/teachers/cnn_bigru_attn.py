"""CNN-BiGRU-attention teacher, after the strong CMI "Detect Behavior with Sensor Data" solutions.

Modality stem -> residual CNN blocks with coordinate attention (Hou et al., arXiv 2103.02907),
each max-pooling time by 2 -> bidirectional GRU (Cho et al., arXiv 1406.1078) -> masked MLP
attention pooling (arXiv 1512.08756) -> dense 256 -> 128 -> multiclass and binary heads.
Layout: `(B, T, C)` at the edges, `(B, C, T)` in the CNN, `(B, T', 2H)` into the GRU.
"""

from __future__ import annotations

from torch import nn

from edgekit.models.layers.attention_pool import AttentionPool
from edgekit.models.layers.bigru import MaskedBiGRU
from edgekit.models.layers.modality import InputLayout
from edgekit.models.layers.residual_cnn import ResidualCABlock
from edgekit.models.registry import register_model
from edgekit.models.teachers.base import TeacherBase


class CnnBiGruAttention(TeacherBase):
    def __init__(self, in_chs: int, num_classes: int, chs: tuple[int, ...] = (64, 128), kernel_size: int = 3,
                 gru_hidden: int = 128, gru_layers: int = 1, dense: tuple[int, ...] = (256, 128),
                 drop: float = 0.3, layout: InputLayout | None = None):
        super().__init__(in_chs, num_classes, layout, dense[-1], drop)
        self.stem = self.make_stem(chs[0])
        ins = (chs[0],) + tuple(chs[:-1])
        self.blocks = nn.ModuleList(ResidualCABlock(i, o, kernel_size, drop=drop) for i, o in zip(ins, chs))
        self.gru = MaskedBiGRU(chs[-1], gru_hidden, gru_layers, drop)
        self.pool = AttentionPool(2 * gru_hidden)
        dims = (2 * gru_hidden,) + tuple(dense)
        layers = []
        for d_in, d_out in zip(dims[:-1], dims[1:]):
            layers += [nn.Linear(d_in, d_out), nn.BatchNorm1d(d_out), nn.ReLU(), nn.Dropout(drop)]
        self.neck = nn.Sequential(*layers)

    def forward_features(self, x, mask, modality_mask):
        x = self.stem(x, mask, modality_mask).transpose(1, 2)
        m = mask.to(x.dtype).unsqueeze(1)
        for block in self.blocks:
            x, m = block(x, m)
        steps = m[:, 0] > 0
        x = self.gru(x.transpose(1, 2), steps)
        return self.neck(self.pool(x, steps))


@register_model(kind="teacher")
def cnn_bigru_attn(in_chs: int, num_classes: int, chs: tuple[int, ...] = (64, 128), kernel_size: int = 3,
                   gru_hidden: int = 128, gru_layers: int = 1, dense: tuple[int, ...] = (256, 128),
                   drop: float = 0.3, layout: InputLayout | None = None) -> CnnBiGruAttention:
    """Residual CNN + coordinate attention -> BiGRU -> attention pooling -> dense heads."""
    return CnnBiGruAttention(in_chs, num_classes, chs, kernel_size, gru_hidden, gru_layers, dense, drop, layout)
