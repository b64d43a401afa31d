"""ModernTCN student (after Luo & Wang, "ModernTCN", ICLR 2024; no arXiv id) with a physics head.

Layout: `(B, C, T)` inside the backbone. Backbone: 1×1 stem → norm → GELU → large-kernel
depthwise conv (k=21) as a residual token mixer → ModernTCN blocks at dilations 1, 2, 4, ...
Offline presets use BatchNorm in the blocks and a LayerNorm head on masked global pooling; the
causal presets pad on the left only and pool with a running mean (streamable, BatchNorm only).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from edgekit.models.layers.causal import Mask, StreamState
from edgekit.models.layers.factories import get_act, get_norm
from edgekit.models.layers.large_kernel_conv import LargeKernelConv
from edgekit.models.layers.moderntcn_block import ModernTCNBlock
from edgekit.models.registry import register_model
from edgekit.models.students.base import CausalStudentNet, HeadConfig, StudentNet, configure


@dataclass(frozen=True)
class ModernTCNConfig(HeadConfig):
    hidden: int = 128
    dilations: tuple[int, ...] = (1, 2, 4, 8)  # one block per entry
    kernel_sizes: tuple[int, ...] = (3, 7)  # multi-scale branches; the largest also sets the ds conv
    large_kernel: int = 21  # 0 = no large-kernel mixer
    rd_ratio: float | None = 0.25  # squeeze-excite reduction; None = no SE
    act_layer: str = "gelu"
    drop: float = 0.1
    drop_path: float = 0.0


class ModernTCNBackbone(nn.Module):
    def __init__(self, in_chs: int, cfg: ModernTCNConfig, causal: bool = False):
        super().__init__()
        self.num_features = cfg.hidden
        self.stem = nn.Conv1d(in_chs, cfg.hidden, 1)
        self.stem_norm = get_norm("batch")(cfg.hidden)
        self.stem_act = get_act(cfg.act_layer)()
        self.large_kernel = (LargeKernelConv(cfg.hidden, cfg.large_kernel, causal=causal)
                             if cfg.large_kernel else None)
        self.blocks = nn.ModuleList(
            ModernTCNBlock(cfg.hidden, cfg.hidden, cfg.kernel_sizes, dilation=d, rd_ratio=cfg.rd_ratio,
                           act_layer=cfg.act_layer, drop=cfg.drop, drop_path=cfg.drop_path, causal=causal)
            for d in cfg.dilations
        )

    def forward(self, x: torch.Tensor, mask: Mask = None, stream: StreamState | None = None) -> torch.Tensor:
        x = self.stem(x)
        x = self.stem_norm(x, mask)
        x = self.stem_act(x)
        if self.large_kernel is not None:
            x = x + self.large_kernel(x, mask, stream)
        for block in self.blocks:
            x = block(x, mask, stream)
            if mask is not None:
                x = x * mask  # padded positions back to zero after every block
        return x


def _modern_tcn(preset: ModernTCNConfig, in_chs: int, num_classes: int, opts: dict, causal: bool) -> nn.Module:
    cfg = configure(preset, opts)
    net = CausalStudentNet if causal else StudentNet
    return net(ModernTCNBackbone(in_chs, cfg, causal), in_chs, num_classes, cfg, config=cfg)


_XS = ModernTCNConfig(hidden=48)
_S = ModernTCNConfig(hidden=64)
_M = ModernTCNConfig(hidden=128)  # the seed defaults


@register_model(kind="student")
def modern_tcn_xs(in_chs: int, num_classes: int, **opts) -> nn.Module:
    """ModernTCN, 48 channels × 4 blocks (≤ 50 K params at 40 features): the on-device size."""
    return _modern_tcn(_XS, in_chs, num_classes, opts, causal=False)


@register_model(kind="student")
def modern_tcn_s(in_chs: int, num_classes: int, **opts) -> nn.Module:
    """ModernTCN, 64 channels × 4 blocks."""
    return _modern_tcn(_S, in_chs, num_classes, opts, causal=False)


@register_model(kind="student")
def modern_tcn_m(in_chs: int, num_classes: int, **opts) -> nn.Module:
    """ModernTCN, 128 channels × 4 blocks (the seed defaults)."""
    return _modern_tcn(_M, in_chs, num_classes, opts, causal=False)


@register_model(kind="student", streamable=True)
def modern_tcn_causal_xs(in_chs: int, num_classes: int, **opts) -> nn.Module:
    """Causal streaming ModernTCN, 48 channels × 4 blocks, running-mean pooling."""
    return _modern_tcn(_XS, in_chs, num_classes, opts, causal=True)


@register_model(kind="student", streamable=True)
def modern_tcn_causal_s(in_chs: int, num_classes: int, **opts) -> nn.Module:
    """Causal streaming ModernTCN, 64 channels × 4 blocks, running-mean pooling."""
    return _modern_tcn(_S, in_chs, num_classes, opts, causal=True)
