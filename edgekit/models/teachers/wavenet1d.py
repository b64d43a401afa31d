"""WaveNet teacher: a stack of gated dilated residual blocks with skip connections (van den Oord
et al., "WaveNet", arXiv 1609.03499), as the 1D backbone of the G2Net (Kaggle 2021) 2nd-place
pipeline, non-causal; masked global pooling (`pool`: mean+max by default, or mean, max, GeM,
attention; `layers/global_pool.py`) and heads.

Layout: `(B, T, C)` at the edges, `(B, C, T)` in the stack (time length unchanged).
"""

from __future__ import annotations

from edgekit.models.layers.modality import InputLayout
from edgekit.models.layers.global_pool import create_global_pool
from edgekit.models.layers.wavenet_block import WaveNetStack
from edgekit.models.registry import register_model
from edgekit.models.teachers.base import TeacherBase


class WaveNet1d(TeacherBase):
    def __init__(self, in_chs: int, num_classes: int, chs: int = 128, dilations: tuple[int, ...] = (1, 2, 4, 8, 16) * 2,
                 kernel_size: int = 3, drop: float = 0.2, layout: InputLayout | None = None, pool: str = "avgmax"):
        pool_layer, num_features = create_global_pool(pool, chs)
        super().__init__(in_chs, num_classes, layout, num_features, drop)
        self.stem = self.make_stem(chs)
        self.stack = WaveNetStack(chs, chs, dilations, kernel_size, drop=drop)
        self.pool = pool_layer

    def forward_features(self, x, mask, modality_mask):
        x = self.stem(x, mask, modality_mask).transpose(1, 2)
        m = mask.to(x.dtype).unsqueeze(1)
        return self.pool(self.stack(x, m), m)


@register_model(kind="teacher")
def wavenet1d(in_chs: int, num_classes: int, chs: int = 128, dilations: tuple[int, ...] = (1, 2, 4, 8, 16) * 2,
              kernel_size: int = 3, drop: float = 0.2, layout: InputLayout | None = None,
              pool: str = "avgmax") -> WaveNet1d:
    """WaveNet stack (gated dilated residual blocks, skips; G2Net-style), masked pooling (mean+max default), heads."""
    return WaveNet1d(in_chs, num_classes, chs, dilations, kernel_size, drop, layout, pool)
