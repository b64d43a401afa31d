"""The `pool` option of the offline teachers: one name -> one masked global pool over time.

`"avg"`, `"max"`, `"avgmax"` (mean and max concatenated, 2·C features; `pooling.py`), `"gem"`
(generalized mean, `gem.py`) and `"attention"` (MLP attention weights, `attention_pool.py`).
Every choice is masked: padded steps never enter the result.

Layout: the pool takes `(B, C, T)` and a `(B, 1, T)` float mask and returns `(B, F)`.
"""

from __future__ import annotations

from torch import nn

from edgekit.errors import EdgekitError
from edgekit.models.layers.attention_pool import AttentionPool1d
from edgekit.models.layers.gem import MaskedGeM
from edgekit.models.layers.pooling import MaskedGlobalPool

POOL_TYPES = ("avg", "max", "avgmax", "gem", "attention")


def create_global_pool(pool: str, in_chs: int) -> tuple[nn.Module, int]:
    """The pool named `pool` for `in_chs` channels, and the number of features it returns."""
    if pool in ("avg", "max", "avgmax"):
        layer = MaskedGlobalPool(pool)
        return layer, in_chs * layer.feature_mult()
    if pool == "gem":
        return MaskedGeM(), in_chs
    if pool == "attention":
        return AttentionPool1d(in_chs, hidden_chs=max(16, in_chs // 2)), in_chs
    raise EdgekitError(f"pool = {pool!r} is not a pooling choice; expected one of {', '.join(POOL_TYPES)}")
