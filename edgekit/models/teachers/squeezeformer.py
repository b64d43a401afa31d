"""Squeezeformer teacher: modality stem -> CLS token + Squeezeformer blocks -> CLS -> heads.

Kim et al., "Squeezeformer: An Efficient Transformer for Automatic Speech Recognition"
(arXiv 2206.00888); blocks in `layers/squeezeformer.py`. The learned CLS token is prepended to the
`(B, T, d_model)` step embeddings and its final state (plus the demographics embedding) feeds the
multiclass and binary heads. Position comes from the depthwise convs (no absolute encoding), so
the model has no maximum length.
"""

from __future__ import annotations

import torch
from torch import nn

from edgekit.models.layers.modality import InputLayout
from edgekit.models.layers.squeezeformer import SqueezeformerBlock
from edgekit.models.registry import register_model
from edgekit.models.teachers.base import TeacherBase


class SqueezeformerClassifier(TeacherBase):
    def __init__(self, in_chs: int, num_classes: int, d_model: int = 256, layers: int = 8, num_heads: int = 8,
                 d_ff: int = 1024, kernel_size: int = 31, drop: float = 0.1, layout: InputLayout | None = None):
        super().__init__(in_chs, num_classes, layout, d_model, drop)
        self.stem = self.make_stem(d_model)
        self.cls = nn.Parameter(torch.zeros(1, 1, d_model))
        nn.init.normal_(self.cls, std=0.02)
        self.blocks = nn.ModuleList(
            SqueezeformerBlock(d_model, num_heads, d_ff, kernel_size, drop=drop) for _ in range(layers)
        )

    def forward_features(self, x, mask, modality_mask):
        x = self.stem(x, mask, modality_mask)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1)
        mask = torch.cat([torch.ones_like(mask[:, :1]), mask], dim=1)
        for block in self.blocks:
            x = block(x, mask)
        return x[:, 0]


@register_model(kind="teacher")
def squeezeformer(in_chs: int, num_classes: int, d_model: int = 256, layers: int = 8, num_heads: int = 8,
                  d_ff: int = 1024, kernel_size: int = 31, drop: float = 0.1,
                  layout: InputLayout | None = None) -> SqueezeformerClassifier:
    """Squeezeformer (arXiv 2206.00888) encoder with a CLS token, demographics and binary heads."""
    return SqueezeformerClassifier(in_chs, num_classes, d_model, layers, num_heads, d_ff, kernel_size, drop, layout)
