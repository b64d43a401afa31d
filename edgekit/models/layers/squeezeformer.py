"""Squeezeformer blocks: macaron feed-forwards around masked self-attention and a conv module.

Kim et al., "Squeezeformer: An Efficient Transformer for Automatic Speech Recognition"
(arXiv 2206.00888), building on Conformer (Gulati et al., arXiv 2005.08100). One block here is
`x + FFN/2 -> x + MHSA -> x + ConvModule -> x + FFN/2 -> LayerNorm`, each sub-module pre-normed;
the conv module is `LayerNorm -> pointwise 2x -> GLU -> depthwise k -> BatchNorm -> SiLU ->
pointwise -> dropout`. The paper's temporal U-Net (downsampling inside the stack) is not used:
CMI sequences are short enough to attend over at full rate.

Layout: blocks take `(B, T, C)` and a `(B, T)` bool mask (True = real); the conv module works on
`(B, C, T)` inside. Padded keys are masked out of attention and padded steps are zeroed before the
depthwise conv, so padding never reaches a real step; BatchNorm statistics skip padding.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from edgekit.models.layers.factories import LayerType, get_act
from edgekit.models.layers.masking import MaskedBatchNorm


class MaskedSelfAttention(nn.Module):
    """Multi-head self-attention over real keys only (`scaled_dot_product_attention`)."""

    def __init__(self, in_chs: int, num_heads: int = 8, drop: float = 0.0):
        super().__init__()
        if in_chs % num_heads:
            raise ValueError(f"d_model {in_chs} must be divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.qkv = nn.Linear(in_chs, 3 * in_chs)
        self.proj = nn.Linear(in_chs, in_chs)
        self.drop = drop

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # (B, T, 3C) -> 3 x (B, H, T, C/H), without reading B or T as Python ints
        q, k, v = self.qkv(x).unflatten(-1, (3, self.num_heads, -1)).permute(2, 0, 3, 1, 4).unbind(0)
        attn_mask = mask[:, None, None, :]
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=self.drop if self.training else 0.0)
        return self.proj(y.transpose(1, 2).flatten(2))


class FeedForward(nn.Module):
    """LayerNorm -> Linear(d_ff) -> act -> dropout -> Linear(d) -> dropout."""

    def __init__(self, in_chs: int, hidden_chs: int, act_layer: LayerType = "silu", drop: float = 0.0):
        super().__init__()
        self.net = nn.Sequential(
            nn.LayerNorm(in_chs),
            nn.Linear(in_chs, hidden_chs),
            get_act(act_layer)(),
            nn.Dropout(drop),
            nn.Linear(hidden_chs, in_chs),
            nn.Dropout(drop),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class ConvModule(nn.Module):
    """Conformer/Squeezeformer conv module on `(B, T, C)`, masked BatchNorm inside."""

    def __init__(self, in_chs: int, kernel_size: int = 31, act_layer: LayerType = "silu", drop: float = 0.0):
        super().__init__()
        self.norm_in = nn.LayerNorm(in_chs)
        self.pw_in = nn.Conv1d(in_chs, 2 * in_chs, 1)
        self.dw = nn.Conv1d(in_chs, in_chs, kernel_size, padding=(kernel_size - 1) // 2, groups=in_chs)
        self.norm = MaskedBatchNorm(in_chs)
        self.act = get_act(act_layer)()
        self.pw_out = nn.Conv1d(in_chs, in_chs, 1)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask.to(x.dtype).unsqueeze(1)  # (B, 1, T)
        h = F.glu(self.pw_in(self.norm_in(x).transpose(1, 2)), dim=1)
        h = self.act(self.norm(self.dw(h * m), m))
        return self.drop(self.pw_out(h)).transpose(1, 2)


class SqueezeformerBlock(nn.Module):
    """`FFN/2 -> MHSA -> ConvModule -> FFN/2 -> LayerNorm`, residual around each, on `(B, T, C)`."""

    def __init__(
        self,
        in_chs: int,
        num_heads: int = 8,
        hidden_chs: int = 1024,
        kernel_size: int = 31,
        act_layer: LayerType = "silu",
        drop: float = 0.1,
    ):
        super().__init__()
        self.ffn1 = FeedForward(in_chs, hidden_chs, act_layer, drop)
        self.attn_norm = nn.LayerNorm(in_chs)
        self.attn = MaskedSelfAttention(in_chs, num_heads, drop)
        self.attn_drop = nn.Dropout(drop)
        self.conv = ConvModule(in_chs, kernel_size, act_layer, drop)
        self.ffn2 = FeedForward(in_chs, hidden_chs, act_layer, drop)
        self.norm_out = nn.LayerNorm(in_chs)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = x + 0.5 * self.ffn1(x)
        x = x + self.attn_drop(self.attn(self.attn_norm(x), mask))
        x = x + self.conv(x, mask)
        x = x + 0.5 * self.ffn2(x)
        return self.norm_out(x)


class TransformerBlock(nn.Module):
    """Plain pre-norm transformer block (MHSA + FFN) on `(B, T, C)`, for small bottlenecks."""

    def __init__(self, in_chs: int, num_heads: int = 4, hidden_chs: int | None = None,
                 act_layer: LayerType = "gelu", drop: float = 0.0):
        super().__init__()
        self.attn_norm = nn.LayerNorm(in_chs)
        self.attn = MaskedSelfAttention(in_chs, num_heads, drop)
        self.ffn = FeedForward(in_chs, hidden_chs or 4 * in_chs, act_layer, drop)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.attn_norm(x), mask)
        return x + self.ffn(x)
