"""1D DenseNet teacher, the third 1D backbone of the G2Net (gravitational waves, Kaggle 2021)
2nd-place pipeline beside ResNet1d and WaveNet1d: Huang et al., "Densely Connected Convolutional
Networks" (arXiv 1608.06993), DenseNet-BC in 1D — dense blocks whose layers each add
`growth_rate` channels, transitions that compress channels and halve time, a final BN-ReLU,
masked global pooling (`pool`: mean+max by default, or mean, max, GeM, attention;
`layers/global_pool.py`), heads.

Layout: `(B, T, C)` at the edges, `(B, C, T)` in the backbone; `block_depths` gives the number of
dense layers per block (a transition follows every block but the last).
"""

from __future__ import annotations

import torch
from torch import nn

from edgekit.models.layers.dense_block import DenseBlock1d, Transition1d
from edgekit.models.layers.global_pool import create_global_pool
from edgekit.models.layers.masking import MaskedBatchNorm
from edgekit.models.layers.modality import InputLayout
from edgekit.models.layers.residual_cnn import ConvNormAct1d
from edgekit.models.registry import register_model
from edgekit.models.teachers.base import TeacherBase

DEFAULT_DEPTHS = (4, 8, 12, 8)


def _backbone_chs(stem_chs: int, block_depths: tuple[int, ...], growth_rate: int, compression: float) -> int:
    chs = stem_chs
    for i, depth in enumerate(block_depths):
        chs += depth * growth_rate
        if i < len(block_depths) - 1:
            chs = int(chs * compression)
    return chs


class DenseNet1d(TeacherBase):
    def __init__(self, in_chs: int, num_classes: int, stem_chs: int = 64,
                 block_depths: tuple[int, ...] = DEFAULT_DEPTHS, growth_rate: int = 32, exp_ratio: int = 4,
                 compression: float = 0.5, kernel_size: int = 5, stem_kernel_size: int = 7, drop: float = 0.2,
                 layout: InputLayout | None = None, pool: str = "avgmax"):
        out_chs = _backbone_chs(stem_chs, block_depths, growth_rate, compression)
        pool_layer, num_features = create_global_pool(pool, out_chs)
        super().__init__(in_chs, num_classes, layout, num_features, drop)
        self.stem = self.make_stem(stem_chs)
        self.stem_conv = ConvNormAct1d(stem_chs, stem_chs, stem_kernel_size)
        stages, chs = [], stem_chs
        for i, depth in enumerate(block_depths):
            block = DenseBlock1d(chs, depth, growth_rate, kernel_size, exp_ratio)
            stages.append(block)
            chs = block.out_chs
            if i < len(block_depths) - 1:
                stages.append(Transition1d(chs, int(chs * compression)))
                chs = int(chs * compression)
        self.stages = nn.ModuleList(stages)
        self.norm = MaskedBatchNorm(chs)
        self.act = nn.ReLU()
        self.pool = pool_layer

    def forward_features(self, x: torch.Tensor, mask: torch.Tensor, modality_mask: torch.Tensor | None) -> torch.Tensor:
        x = self.stem(x, mask, modality_mask).transpose(1, 2)
        x, m = self.stem_conv(x, mask.to(x.dtype).unsqueeze(1))
        for stage in self.stages:
            x, m = stage(x, m)
        return self.pool(self.act(self.norm(x, m)), m)


@register_model(kind="teacher")
def densenet1d(in_chs: int, num_classes: int, stem_chs: int = 64, block_depths: tuple[int, ...] = DEFAULT_DEPTHS,
               growth_rate: int = 32, exp_ratio: int = 4, compression: float = 0.5, kernel_size: int = 5,
               stem_kernel_size: int = 7, drop: float = 0.2, layout: InputLayout | None = None,
               pool: str = "avgmax") -> DenseNet1d:
    """1D DenseNet-BC (dense blocks + transitions; G2Net-style), masked pooling (mean+max default), heads."""
    return DenseNet1d(in_chs, num_classes, stem_chs, block_depths, growth_rate, exp_ratio, compression,
                      kernel_size, stem_kernel_size, drop, layout, pool)
