"""LITE student (Ismail-Fawaz et al., "LITE: Light Inception with boosTing tEchniques for Time Series
Classification", DSAA 2023; LITEMV in "Look Into the LITE in Deep Learning for Time Series
Classification", arXiv 2409.02869): about 10 K parameters at about InceptionTime's accuracy, with
the physics head of every student.

Layout: `(B, C, T)` inside the backbone. One multiplexing layer — parallel convs of long kernels
(39/19/9, the paper's 40/20/10 made odd) beside fixed hand-crafted filters (`custom_filters.py`),
concatenated → BatchNorm → ReLU — then two depthwise-separable convs at dilations 2 and 4
(kernels 19 and 9) → BatchNorm → ReLU, then the student head (masked global average pooling).
`multivariate=True` is LITEMV (the default): the multiplexing convs are depthwise-separable and the
hand-crafted filters run per channel; False is LITE (full convs, filters summed over channels).
The causal preset pads on the left only and pools with a running mean (streamable).
Size: ~12 K parameters on 3 input channels (physics head included), but the per-channel filters
add 17 channels per input channel to the first separable conv: 51 K at 40 inputs, where
`custom_sizes=()` (or fewer sizes) keeps it near 15 K.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from edgekit.models.layers.causal import Mask, StreamState, create_conv1d
from edgekit.models.layers.custom_filters import HandCraftedFilters
from edgekit.models.layers.depthwise_separable import DepthwiseSeparableConv
from edgekit.models.layers.factories import get_act, get_norm
from edgekit.models.registry import register_model
from edgekit.models.students.base import CausalStudentNet, HeadConfig, StudentNet, backbone_inputs, configure


@dataclass(frozen=True)
class LITEConfig(HeadConfig):
    filters: int = 32  # per multiplexing conv, and the width of the separable convs
    kernel_sizes: tuple[int, ...] = (39, 19, 9)  # the multiplexing convs
    custom_sizes: tuple[int, ...] = (2, 4, 8, 16, 32, 64)  # hand-crafted filter lengths; () = none
    multivariate: bool = True  # LITEMV: separable multiplexing convs, per-channel hand-crafted filters
    fcn_kernel_sizes: tuple[int, ...] = (19, 9)  # one depthwise-separable conv per entry
    fcn_dilations: tuple[int, ...] = (2, 4)
    act_layer: str = "relu"


class LITEBackbone(nn.Module):
    def __init__(self, in_chs: int, cfg: LITEConfig, causal: bool = False):
        super().__init__()
        if len(cfg.fcn_kernel_sizes) != len(cfg.fcn_dilations):
            raise ValueError(f"fcn_kernel_sizes {cfg.fcn_kernel_sizes} and fcn_dilations {cfg.fcn_dilations} "
                             "must have one entry per separable conv")
        if cfg.multivariate:
            self.multiplex = nn.ModuleList(DepthwiseSeparableConv(in_chs, cfg.filters, k, causal=causal)
                                           for k in cfg.kernel_sizes)
        else:
            self.multiplex = nn.ModuleList(create_conv1d(in_chs, cfg.filters, k, bias=False, causal=causal)
                                           for k in cfg.kernel_sizes)
        self.custom = (HandCraftedFilters(in_chs, cfg.custom_sizes, depthwise=cfg.multivariate, causal=causal)
                       if cfg.custom_sizes else None)
        chs = cfg.filters * len(cfg.kernel_sizes) + (self.custom.out_chs if self.custom is not None else 0)
        self.norm = get_norm("batch")(chs)
        self.act = get_act(cfg.act_layer)()
        blocks = []
        for k, d in zip(cfg.fcn_kernel_sizes, cfg.fcn_dilations):
            blocks.append(DepthwiseSeparableConv(chs, cfg.filters, k, dilation=d, norm_layer="batch",
                                                 act_layer=cfg.act_layer, causal=causal))
            chs = cfg.filters
        self.blocks = nn.ModuleList(blocks)
        self.num_features = chs

    def forward(self, x: torch.Tensor, mask: Mask = None, stream: StreamState | None = None) -> torch.Tensor:
        branches = [conv(x, mask, stream) for conv in self.multiplex]
        if self.custom is not None:
            branches.append(self.custom(x, mask, stream))
        x = self.act(self.norm(torch.cat(branches, dim=1), mask))
        for block in self.blocks:
            x = block(x, mask, stream)
        return x * mask if mask is not None else x  # padded positions back to zero


def _lite(preset: LITEConfig, in_chs: int, num_classes: int, opts: dict, causal: bool) -> nn.Module:
    cfg = configure(preset, opts)
    net = CausalStudentNet if causal else StudentNet
    return net(LITEBackbone(backbone_inputs(in_chs, cfg), cfg, causal), in_chs, num_classes, cfg, config=cfg)


_LITE = LITEConfig()


@register_model(kind="student")
def lite(in_chs: int, num_classes: int, **opts) -> nn.Module:
    """LITEMV: multiplexing separable convs + hand-crafted filters, 2 dilated separable convs (~10 K params)."""
    return _lite(_LITE, in_chs, num_classes, opts, causal=False)


@register_model(kind="student", streamable=True)
def lite_causal(in_chs: int, num_classes: int, **opts) -> nn.Module:
    """Causal streaming LITEMV, running-mean pooling."""
    return _lite(_LITE, in_chs, num_classes, opts, causal=True)
