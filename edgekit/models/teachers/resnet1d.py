"""1D ResNet teacher, as in the 1D-CNN backbones of the G2Net (gravitational waves, Kaggle 2021)
2nd-place pipeline: He et al., "Deep Residual Learning for Image Recognition" (arXiv 1512.03385)
with basic blocks in 1D, stages that stride time, masked global pooling (`pool`: mean+max by
default, or mean, max, GeM, attention; `layers/global_pool.py`), heads.

Layout: `(B, T, C)` at the edges, `(B, C, T)` in the backbone; `ResNetStage` specs set the stages.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from edgekit.models.layers.modality import InputLayout
from edgekit.models.layers.global_pool import create_global_pool
from edgekit.models.layers.residual_cnn import BasicBlock1d, ConvNormAct1d
from edgekit.models.registry import register_model
from edgekit.models.teachers.base import TeacherBase


@dataclass(frozen=True)
class ResNetStage:
    """`depth` basic blocks to `out_chs`; the first one strides time by `stride`."""

    out_chs: int
    depth: int = 2
    stride: int = 1


DEFAULT_STAGES = (ResNetStage(64, 2, 1), ResNetStage(128, 2, 2), ResNetStage(256, 2, 2), ResNetStage(256, 2, 2))


class ResNet1d(TeacherBase):
    def __init__(self, in_chs: int, num_classes: int, stem_chs: int = 64,
                 stages: tuple[ResNetStage, ...] = DEFAULT_STAGES, kernel_size: int = 5,
                 stem_kernel_size: int = 7, drop: float = 0.2, layout: InputLayout | None = None,
                 pool: str = "avgmax"):
        pool_layer, num_features = create_global_pool(pool, stages[-1].out_chs)
        super().__init__(in_chs, num_classes, layout, num_features, drop)
        self.stem = self.make_stem(stem_chs)
        self.stem_conv = ConvNormAct1d(stem_chs, stem_chs, stem_kernel_size)
        blocks, chs = [], stem_chs
        for stage in stages:
            for i in range(stage.depth):
                blocks.append(BasicBlock1d(chs, stage.out_chs, kernel_size, stage.stride if i == 0 else 1))
                chs = stage.out_chs
        self.blocks = nn.ModuleList(blocks)
        self.pool = pool_layer

    def forward_features(self, x, mask, modality_mask):
        x = self.stem(x, mask, modality_mask).transpose(1, 2)
        x, m = self.stem_conv(x, mask.to(x.dtype).unsqueeze(1))
        for block in self.blocks:
            x, m = block(x, m)
        return self.pool(x, m)


@register_model(kind="teacher")
def resnet1d(in_chs: int, num_classes: int, stem_chs: int = 64, stages: tuple[ResNetStage, ...] = DEFAULT_STAGES,
             kernel_size: int = 5, stem_kernel_size: int = 7, drop: float = 0.2,
             layout: InputLayout | None = None, pool: str = "avgmax") -> ResNet1d:
    """1D ResNet (basic blocks, strided stages; G2Net-style), masked pooling (mean+max default), heads."""
    return ResNet1d(in_chs, num_classes, stem_chs, stages, kernel_size, stem_kernel_size, drop, layout, pool)
