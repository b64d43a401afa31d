"""What every teacher shares: input checks, modality stem, demographics, multiclass + binary heads.

A teacher implements `forward_features(x, mask, modality_mask) -> (B, num_features)`; this base
turns that into `forward(x, mask) -> (B, num_classes)` logits and `forward_train(...) -> dict` with
`"logits"` and `"binary"` (the target vs non-target logit, `(B,)`).

Layout: `x` is `(B, T, C)` float32, `mask` `(B, T)` bool with True on real samples; batches are
right-padded (see `layers/masking.py`), and the output of a sequence never depends on its padding.
"""

from __future__ import annotations

import torch
from torch import nn

from edgekit.models.layers.modality import DemographicsEmbedding, InputLayout, ModalityEncoder, resolve_layout


class TeacherBase(nn.Module):
    def __init__(self, in_chs: int, num_classes: int, layout: InputLayout | None, num_features: int, drop: float = 0.0):
        super().__init__()
        self.in_chs, self.num_classes = in_chs, num_classes
        self.layout = resolve_layout(in_chs, layout)
        self.num_features = num_features
        self.demographics = DemographicsEmbedding(self.layout.demo_chs, num_features)
        self.head_drop = nn.Dropout(drop)
        self.head = nn.Linear(num_features, num_classes)
        self.binary_head = nn.Linear(num_features, 1)

    def make_stem(self, out_chs: int) -> ModalityEncoder:
        """The per-step modality stem `(B, T, C) -> (B, T, out_chs)` (IMU, + thermopile, + ToF)."""
        return ModalityEncoder(self.layout, out_chs)

    def forward_features(self, x: torch.Tensor, mask: torch.Tensor, modality_mask: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError

    def forward_train(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None = None,
        modality_mask: torch.Tensor | None = None,
        demographics: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        mask = torch.ones_like(x[..., 0], dtype=torch.bool) if mask is None else mask.to(torch.bool)
        feats = self.forward_features(x, mask, modality_mask)
        feats = self.head_drop(self.demographics(feats, demographics))
        return {"logits": self.head(feats), "binary": self.binary_head(feats).squeeze(-1)}

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None = None,
        modality_mask: torch.Tensor | None = None,
        demographics: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return self.forward_train(x, mask, modality_mask, demographics)["logits"]
