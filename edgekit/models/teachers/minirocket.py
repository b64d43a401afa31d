"""MiniRocket teacher (Dempster, Schmidt & Webb, "MiniRocket", KDD 2021, arXiv 2012.08791): fixed
random dilated convolutions and PPV pooling (`layers/minirocket.py`, ~10 K features) read by a
BatchNorm (no affine: the standardization of the paper's ridge/logistic pipelines) and the linear
heads, trained by the one training loop like any model: a multinomial logistic regression on
MiniRocket features. Strong on small data, cheap on a CPU: nothing before the head trains.

Layout: `(B, T, C)` at the edges, `(B, C, T)` into the features. The biases are fitted on the
first training batch (see the layer); they, the reference length and the channel subsets are
buffers, so checkpoints, resume and `load_model` carry them. No modality stem: MiniRocket reads the
(scaled) input channels themselves, a random subset of up to 9 per kernel; a thermopile or ToF
branch that an explicit `modality_mask` marks absent reads as zeros, as missing data does.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from edgekit.models.layers.minirocket import DEFAULT_FEATURES, NUM_KERNELS, MiniRocketFeatures, features_per_kernel
from edgekit.models.layers.modality import IMU, THM, TOF, InputLayout
from edgekit.models.registry import register_model
from edgekit.models.teachers.base import TeacherBase

FEATURE_GAIN = 3.0


class MiniRocket(TeacherBase):
    # a training step costs about one forward: the fixed transform has no parameters and its input
    # needs no gradient, so backward runs through the norm and heads only (auto budgets read this)
    train_passes = 1.0

    def __init__(self, in_chs: int, num_classes: int, num_features: int = DEFAULT_FEATURES, max_dilations: int = 32,
                 length: int = 0, seed: int = 0, drop: float = 0.0, layout: InputLayout | None = None):
        super().__init__(in_chs, num_classes, layout, NUM_KERNELS * features_per_kernel(num_features), drop)
        self.rocket = MiniRocketFeatures(in_chs, num_features, max_dilations, length, seed)
        self.norm = nn.BatchNorm1d(self.rocket.num_features, affine=False)
        # fan-in scaling of the ~10 K standardized features: Adam moves every head weight by about
        # the learning rate, so unscaled features swing the logits by ~lr · F per step and the head
        # memorises a small training set at once (measured on Handwriting: 35-44 % unscaled, 50-53 %
        # scaled, across lr 2e-3..1e-2; the paper's ridge classifier: 53 %)
        self.feature_scale = FEATURE_GAIN / math.sqrt(self.rocket.num_features)

    def forward_features(self, x, mask, modality_mask):
        keep = torch.isfinite(x) if modality_mask is None else torch.isfinite(x) & self._present(x, modality_mask)
        x = torch.where(keep, x, torch.zeros_like(x)).transpose(1, 2)
        return self.norm(self.rocket(x, mask.to(x.dtype).unsqueeze(1))) * self.feature_scale

    def _present(self, x: torch.Tensor, modality_mask: torch.Tensor) -> torch.Tensor:
        """`(B, 1, C)` bool: IMU channels always, thermopile and ToF channels where the caller's
        `(B, 2)` modality mask says present (derived presence needs nothing: absent reads as 0)."""
        flags = modality_mask.to(torch.bool)
        per_branch = torch.cat([torch.ones_like(flags[:, :1]), flags[:, :2]], dim=1)  # (B, 3): imu, thm, tof
        column = {IMU: 0, THM: 1, TOF: 2}
        branch = torch.tensor([column[b] for b in self.layout.channel_branches()], device=x.device)
        return per_branch.index_select(1, branch).unsqueeze(1)


@register_model(kind="teacher")
def minirocket(in_chs: int, num_classes: int, num_features: int = DEFAULT_FEATURES, max_dilations: int = 32,
               length: int = 0, seed: int = 0, drop: float = 0.0, layout: InputLayout | None = None) -> MiniRocket:
    """MiniRocket: ~10 K fixed random-kernel PPV features (biases fitted on the first batch), linear heads."""
    return MiniRocket(in_chs, num_classes, num_features, max_dilations, length, seed, drop, layout)
