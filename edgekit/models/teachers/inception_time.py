"""InceptionTime teacher (Ismail Fawaz et al., "InceptionTime: Finding AlexNet for Time Series
Classification", DMKD 2020, arXiv 1909.04939): Inception modules (bottleneck, kernels 39/19/9 and
a max-pool branch, 4 × 32 channels) with a residual shortcut every 3 modules, masked global average
pooling, heads. The best published model on the UEA Handwriting set (64.2 %, an ensemble of five).

Layout: `(B, T, C)` at the edges, `(B, C, T)` in the backbone. The modality stem (a per-step
linear map, see `layers/modality.py`) feeds the first module, so CMI sensor layouts work as for
every teacher; on plain IMU data it is one more 1×1 map before the first bottleneck.
"""

from __future__ import annotations

from torch import nn

from edgekit.models.layers.inception import InceptionBlock
from edgekit.models.layers.modality import InputLayout
from edgekit.models.layers.pooling import MaskedGlobalPool
from edgekit.models.registry import register_model
from edgekit.models.teachers.base import TeacherBase


class InceptionTime(TeacherBase):
    def __init__(self, in_chs: int, num_classes: int, filters: int = 32, depth: int = 6,
                 kernel_sizes: tuple[int, ...] = (39, 19, 9), bottleneck_chs: int = 32, stem_chs: int = 32,
                 residual_every: int = 3, drop: float = 0.0, layout: InputLayout | None = None):
        out_chs = filters * (len(kernel_sizes) + 1)
        super().__init__(in_chs, num_classes, layout, out_chs, drop)
        self.stem = self.make_stem(stem_chs)
        blocks, chs = [], stem_chs
        for start in range(0, depth, residual_every):
            blocks.append(InceptionBlock(chs, filters, min(residual_every, depth - start), kernel_sizes, bottleneck_chs))
            chs = blocks[-1].out_chs
        self.blocks = nn.ModuleList(blocks)
        self.pool = MaskedGlobalPool("avg")

    def forward_features(self, x, mask, modality_mask):
        x = self.stem(x, mask, modality_mask).transpose(1, 2)
        m = mask.to(x.dtype).unsqueeze(1)
        for block in self.blocks:
            x = block(x, m)
        return self.pool(x, m)


@register_model(kind="teacher")
def inception_time(in_chs: int, num_classes: int, filters: int = 32, depth: int = 6,
                   kernel_sizes: tuple[int, ...] = (39, 19, 9), bottleneck_chs: int = 32, stem_chs: int = 32,
                   residual_every: int = 3, drop: float = 0.0, layout: InputLayout | None = None) -> InceptionTime:
    """InceptionTime: 6 Inception modules (kernels 39/19/9 + max-pool, 128 ch), residual every 3, GAP, heads."""
    return InceptionTime(in_chs, num_classes, filters, depth, kernel_sizes, bottleneck_chs, stem_chs,
                         residual_every, drop, layout)
