"""Squeezeformer teacher: modality stem -> Squeezeformer blocks -> CLS + BERT encoder -> CLS -> heads.

Kim et al., "Squeezeformer: An Efficient Transformer for Automatic Speech Recognition"
(arXiv 2206.00888); blocks in `layers/squeezeformer.py`. As in the CMI Squeezeformer + BERT note,
a learned CLS token is prepended to the Squeezeformer output and `bert_layers` post-norm encoder
layers (BERT, arXiv 1810.04805; `layers/bert.py`) read it; the CLS token's final state (plus the
demographics embedding) feeds the multiclass and binary heads.

`bert_layers = 0` is the earlier form (registered as `squeezeformer_cls`): the CLS token is
prepended to the Squeezeformer stack itself, with exactly that form's parameter names, so its
saved weights load. Position comes from the depthwise convs (no absolute encoding), so the model
has no maximum length.
"""

from __future__ import annotations

import torch
from torch import nn

from edgekit.errors import EdgekitError
from edgekit.models.layers.bert import BertLayer
from edgekit.models.layers.modality import InputLayout
from edgekit.models.layers.squeezeformer import SqueezeformerBlock
from edgekit.models.registry import register_model
from edgekit.models.teachers.base import TeacherBase


class SqueezeformerClassifier(TeacherBase):
    def __init__(self, in_chs: int, num_classes: int, d_model: int = 256, layers: int = 8, num_heads: int = 8,
                 d_ff: int = 1024, kernel_size: int = 31, drop: float = 0.1, layout: InputLayout | None = None,
                 bert_layers: int = 2):
        super().__init__(in_chs, num_classes, layout, d_model, drop)
        if bert_layers < 0:
            raise EdgekitError(f"bert_layers must be >= 0 (0 = no BERT stage), got {bert_layers}")
        self.stem = self.make_stem(d_model)
        self.cls = nn.Parameter(torch.zeros(1, 1, d_model))
        nn.init.normal_(self.cls, std=0.02)
        self.blocks = nn.ModuleList(
            SqueezeformerBlock(d_model, num_heads, d_ff, kernel_size, drop=drop) for _ in range(layers)
        )
        # an empty list adds no parameter names: bert_layers = 0 keeps the earlier state_dict
        self.bert = nn.ModuleList(BertLayer(d_model, num_heads, d_ff, drop=drop) for _ in range(bert_layers))
        self.cls_before_blocks = bert_layers == 0

    def forward_features(self, x, mask, modality_mask):
        x = self.stem(x, mask, modality_mask)
        if self.cls_before_blocks:
            x, mask = self._prepend_cls(x, mask)
        for block in self.blocks:
            x = block(x, mask)
        if not self.cls_before_blocks:
            x, mask = self._prepend_cls(x, mask)
        for layer in self.bert:
            x = layer(x, mask)
        return x[:, 0]

    def _prepend_cls(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1)
        return x, torch.cat([torch.ones_like(mask[:, :1]), mask], dim=1)

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        # weights of the other form would fail on dozens of keys; say which option fits them
        saved_bert = any(k.startswith("bert.") for k in state_dict)
        if strict and saved_bert != (len(self.bert) > 0):
            fits = "bert_layers >= 1 (the default)" if saved_bert else "bert_layers = 0 (or the name squeezeformer_cls)"
            raise EdgekitError(f"these squeezeformer weights are {'with' if saved_bert else 'without'} a BERT stage "
                               f"but the model was built with bert_layers = {len(self.bert)}; build it with {fits}")
        return super().load_state_dict(state_dict, strict, assign)


@register_model(kind="teacher")
def squeezeformer(in_chs: int, num_classes: int, d_model: int = 256, layers: int = 8, num_heads: int = 8,
                  d_ff: int = 1024, kernel_size: int = 31, drop: float = 0.1, layout: InputLayout | None = None,
                  bert_layers: int = 2) -> SqueezeformerClassifier:
    """Squeezeformer (arXiv 2206.00888) blocks -> CLS + BERT encoder layers, demographics and binary heads."""
    return SqueezeformerClassifier(in_chs, num_classes, d_model, layers, num_heads, d_ff, kernel_size, drop, layout,
                                   bert_layers)


@register_model(kind="teacher")
def squeezeformer_cls(in_chs: int, num_classes: int, d_model: int = 256, layers: int = 8, num_heads: int = 8,
                      d_ff: int = 1024, kernel_size: int = 31, drop: float = 0.1,
                      layout: InputLayout | None = None) -> SqueezeformerClassifier:
    """Squeezeformer (arXiv 2206.00888) with the CLS token in its own stack, no BERT stage (earlier form)."""
    return SqueezeformerClassifier(in_chs, num_classes, d_model, layers, num_heads, d_ff, kernel_size, drop, layout,
                                   bert_layers=0)
