"""MBConv TCN student: a stack of 1D inverted-residual blocks with squeeze-excite (MobileNetV2,
arXiv 1801.04381; EfficientNet, arXiv 1905.11946) at growing dilations, with a physics head.

Layout: `(B, C, T)` inside the backbone. 1×1 stem → BatchNorm → act → stages of `MBConv1d`
(one block per dilation; the first block of a stage changes the width) → optional 1×1 head conv →
BatchNorm → act. Stride stays 1 so every time step keeps its logits (and the causal presets stream).

Device-friendly by default (issue 13): ReLU, which onnxruntime fuses into its integer convs (SiLU
quantizes too, as QLinearSigmoid + QLinearMul, but adds two nodes per activation), BatchNorm only
(the head's is folded into the classifier), squeezes as GlobalAveragePool. On UCI-HAR at an equal
budget (8 epochs, one seed) ReLU + BatchNorm head scored 92.4 % against 91.9 % for SiLU + LayerNorm head.
Causal presets squeeze-excite once, after the last block (`se_per_block=False`, as the ModernTCN
seed note does): a causal squeeze is a running mean, a float CumSum over the window in every SE,
and with one per block the INT8 window model ran no faster than fp32.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import nn

from edgekit.models.layers.causal import Mask, StreamState
from edgekit.models.layers.factories import get_act, get_norm
from edgekit.models.layers.mbconv import MBConv1d
from edgekit.models.layers.squeeze_excite import SqueezeExcite
from edgekit.models.registry import register_model
from edgekit.models.students.base import CausalStudentNet, HeadConfig, StudentNet, backbone_inputs, configure


@dataclass(frozen=True)
class MBStage:
    out_chs: int
    dilations: tuple[int, ...] = (1, 2, 4)  # one block per entry
    kernel_size: int = 5
    exp_ratio: float = 4.0


@dataclass(frozen=True)
class MBConvTCNConfig(HeadConfig):
    head_norm: str | None = "batch"  # folds into the classifier at inference
    stem_chs: int = 32
    stages: tuple[MBStage, ...] = (MBStage(32, (1, 2)), MBStage(64, (1, 2, 4)), MBStage(96, (1, 2, 4, 8)))
    head_chs: int = 0  # 1×1 conv widening the last stage before pooling; 0 = none
    rd_ratio: float | None = 0.25  # squeeze-excite reduction (relative to a block's input width); None = no SE
    se_per_block: bool = True  # False: one SE after the last block instead of one in every block
    act_layer: str = "relu"
    drop_path: float = 0.05  # stochastic depth of the last block; earlier blocks scale linearly


class MBConvTCNBackbone(nn.Module):
    def __init__(self, in_chs: int, cfg: MBConvTCNConfig, causal: bool = False):
        super().__init__()
        act, norm = get_act(cfg.act_layer), get_norm("batch")
        self.stem = nn.Conv1d(in_chs, cfg.stem_chs, 1, bias=False)
        self.stem_norm = norm(cfg.stem_chs)
        self.stem_act = act()
        specs = [(stage, d) for stage in cfg.stages for d in stage.dilations]
        blocks, chs = [], cfg.stem_chs
        for i, (stage, d) in enumerate(specs):
            blocks.append(MBConv1d(chs, stage.out_chs, stage.kernel_size, dilation=d, exp_ratio=stage.exp_ratio,
                                   rd_ratio=cfg.rd_ratio if cfg.se_per_block else None, act_layer=cfg.act_layer,
                                   drop_path=cfg.drop_path * i / max(1, len(specs) - 1), causal=causal))
            chs = stage.out_chs
        self.blocks = nn.ModuleList(blocks)
        self.conv_head = nn.Conv1d(chs, cfg.head_chs, 1, bias=False) if cfg.head_chs else nn.Identity()
        self.norm_head = norm(cfg.head_chs) if cfg.head_chs else get_norm(None)(chs)
        self.act_head = act() if cfg.head_chs else nn.Identity()
        self.num_features = cfg.head_chs or chs
        self.se = (SqueezeExcite(self.num_features, cfg.rd_ratio, causal=causal)
                   if cfg.rd_ratio and not cfg.se_per_block else None)

    def forward(self, x: torch.Tensor, mask: Mask = None, stream: StreamState | None = None) -> torch.Tensor:
        x = self.stem(x)
        x = self.stem_norm(x, mask)
        x = self.stem_act(x)
        for block in self.blocks:
            x = block(x, mask, stream)
            if mask is not None:
                x = x * mask  # padded positions back to zero after every block
        x = self.conv_head(x)
        x = self.norm_head(x, mask)
        x = self.act_head(x)
        return self.se(x, mask, stream) if self.se is not None else x


def _mbconv_tcn(preset: MBConvTCNConfig, in_chs: int, num_classes: int, opts: dict, causal: bool) -> nn.Module:
    cfg = configure(preset, opts)
    net = CausalStudentNet if causal else StudentNet
    return net(MBConvTCNBackbone(backbone_inputs(in_chs, cfg), cfg, causal), in_chs, num_classes, cfg, config=cfg)


_XS = MBConvTCNConfig(stem_chs=24, stages=(MBStage(24, (1,), exp_ratio=3.0), MBStage(32, (1, 2, 4, 8), exp_ratio=3.0)))
_S = MBConvTCNConfig(stem_chs=32, stages=(MBStage(32, (1, 2)), MBStage(48, (1, 2, 4, 8))))
_M = MBConvTCNConfig(stem_chs=32, stages=(MBStage(40, (1, 2)), MBStage(80, (1, 2, 4, 8))))
_CAUSAL_XS, _CAUSAL_S = replace(_XS, se_per_block=False), replace(_S, se_per_block=False)


@register_model(kind="student")
def mbconv_tcn_xs(in_chs: int, num_classes: int, **opts) -> nn.Module:
    """MBConv TCN, widths 24→32, 5 blocks (≤ 50 K params at 40 features): the on-device size."""
    return _mbconv_tcn(_XS, in_chs, num_classes, opts, causal=False)


@register_model(kind="student")
def mbconv_tcn_s(in_chs: int, num_classes: int, **opts) -> nn.Module:
    """MBConv TCN, widths 32→48, 6 blocks."""
    return _mbconv_tcn(_S, in_chs, num_classes, opts, causal=False)


@register_model(kind="student")
def mbconv_tcn_m(in_chs: int, num_classes: int, **opts) -> nn.Module:
    """MBConv TCN, widths 40→80, 6 blocks."""
    return _mbconv_tcn(_M, in_chs, num_classes, opts, causal=False)


@register_model(kind="student", streamable=True)
def mbconv_tcn_causal_xs(in_chs: int, num_classes: int, **opts) -> nn.Module:
    """Causal streaming MBConv TCN, widths 24→32, 5 blocks, one running-mean SE, running-mean pooling."""
    return _mbconv_tcn(_CAUSAL_XS, in_chs, num_classes, opts, causal=True)


@register_model(kind="student", streamable=True)
def mbconv_tcn_causal_s(in_chs: int, num_classes: int, **opts) -> nn.Module:
    """Causal streaming MBConv TCN, widths 32→48, 6 blocks, one running-mean SE, running-mean pooling."""
    return _mbconv_tcn(_CAUSAL_S, in_chs, num_classes, opts, causal=True)
