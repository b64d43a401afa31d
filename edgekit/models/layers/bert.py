"""BERT encoder layer: post-norm transformer encoder over a CLS-prefixed sequence.

Devlin et al., "BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding"
(arXiv 1810.04805), the encoder layer of Vaswani et al. (arXiv 1706.03762) with GELU:
`x = LN(x + drop(MHSA(x)))`, then `x = LN(x + drop(FFN(x)))` — normalised after each residual
(post-norm), unlike the pre-norm blocks of `squeezeformer.py`. No position embedding: the
sequence it reads already carries position from the convs before it, so there is no maximum length.

Layout: `(B, T, C)` and a `(B, T)` bool mask (True = real); padded keys are masked out of attention
(`MaskedSelfAttention`), and every other sub-layer works per step, so padding never reaches a
real step.
"""

from __future__ import annotations

import torch
from torch import nn

from edgekit.models.layers.factories import LayerType, get_act
from edgekit.models.layers.squeezeformer import MaskedSelfAttention


class BertLayer(nn.Module):
    """Post-norm encoder layer: MHSA -> add & LayerNorm -> FFN -> add & LayerNorm, on `(B, T, C)`."""

    def __init__(self, in_chs: int, num_heads: int = 8, hidden_chs: int | None = None,
                 act_layer: LayerType = "gelu", drop: float = 0.1):
        super().__init__()
        self.attn = MaskedSelfAttention(in_chs, num_heads, drop)
        self.attn_drop = nn.Dropout(drop)
        self.attn_norm = nn.LayerNorm(in_chs)
        self.ffn = nn.Sequential(
            nn.Linear(in_chs, hidden_chs or 4 * in_chs),
            get_act(act_layer)(),
            nn.Dropout(drop),
            nn.Linear(hidden_chs or 4 * in_chs, in_chs),
            nn.Dropout(drop),
        )
        self.ffn_norm = nn.LayerNorm(in_chs)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.attn_norm(x + self.attn_drop(self.attn(x, mask)))
        return self.ffn_norm(x + self.ffn(x))
