"""Temporal convolutions with causal (left) or centred padding, and causal running pooling.

Layout: `(B, C, T)`. Masking rule of every temporal layer here: its input is multiplied by the
`(B, 1, T)` float mask (1 = real sample) before it mixes time, so padded positions read as the
zeros a shorter, unpadded sequence would have been padded with.

Streaming (TCN-style causal convolutions, Bai et al. 2018, arXiv 1803.01271; buffered state as in
"Streaming keyword spotting on mobile devices", arXiv 2005.06720): a causal layer keeps a fixed
shape state — a conv keeps the last `(k - 1) * d` inputs, a running pool keeps its sum and count.
The same `forward` runs offline (`stream=None`) or on a chunk of new samples with a `StreamState`,
so a streaming step cannot drift from the offline causal forward.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

Mask = torch.Tensor | None  # (B, 1, T) float, 1 = real sample


class StreamState:
    """State of one streaming call: layers read `inputs[slot]` and write `outputs[slot]`.

    Slots are assigned once per model by `assign_state_slots`, so the flat tuple of state tensors
    has a fixed order and fixed shapes (exportable as ONNX step-model inputs/outputs).
    `one_sample`: the call carries exactly one new sample (a `step`), so layers may skip work that
    only a chunk needs, without reading a traced shape.
    """

    def __init__(self, inputs: Sequence[torch.Tensor], one_sample: bool = False):
        self.inputs = list(inputs)
        self.one_sample = one_sample
        self.outputs: list[torch.Tensor | None] = [None] * len(self.inputs)

    def next_state(self) -> tuple[torch.Tensor, ...]:
        missing = [i for i, t in enumerate(self.outputs) if t is None]
        if missing:
            raise RuntimeError(f"streaming state slots {missing} were not updated by the forward pass")
        return tuple(self.outputs)  # type: ignore[arg-type]


def assign_state_slots(model: nn.Module) -> list[tuple[int, ...]]:
    """Give every stateful layer its slot offset; return the per-sample state shapes in slot order."""
    shapes: list[tuple[int, ...]] = []
    for module in model.modules():
        if hasattr(module, "state_shapes"):
            module_shapes = module.state_shapes()
            module.state_slot = len(shapes)
            shapes.extend(module_shapes)
    return shapes


class _LeftPaddedConv(torch.autograd.Function):
    """Left-padded conv whose ONNX form is one `Conv` with asymmetric `pads=[context, 0]`.

    Traced as `F.pad` + conv, the legacy exporter writes a `Pad` node before the `Conv`. In a
    quantized graph that `Pad` sits between a dequantize and a quantize and onnxruntime runs it in
    float; as a pads attribute it is part of the integer conv, and a device kernel reads the causal
    left padding from the one node. Used only while exporting (no backward needed).
    """

    @staticmethod
    def forward(ctx, x, weight, bias, context: int, dilation: int, groups: int):
        return F.conv1d(F.pad(x, (context, 0)), weight, bias, dilation=dilation, groups=groups)

    @staticmethod
    def symbolic(g, x, weight, bias, context: int, dilation: int, groups: int):
        inputs = [x, weight] if bias is None else [x, weight, bias]
        return g.op("Conv", *inputs, pads_i=[context, 0], dilations_i=[dilation], group_i=groups,
                    kernel_shape_i=[weight.type().sizes()[-1]], strides_i=[1])


class CausalConv1d(nn.Conv1d):
    """Conv1d padded on the left by `(kernel_size - 1) * dilation`: output t sees inputs <= t."""

    def __init__(self, in_chs: int, out_chs: int, kernel_size: int, dilation: int = 1,
                 groups: int = 1, bias: bool = True):
        super().__init__(in_chs, out_chs, kernel_size, dilation=dilation, groups=groups, bias=bias)
        self.context = (kernel_size - 1) * dilation
        self.state_slot = -1

    def state_shapes(self) -> list[tuple[int, ...]]:
        return [(self.in_channels, self.context)] if self.context else []

    def forward(self, x: torch.Tensor, mask: Mask = None, stream: StreamState | None = None) -> torch.Tensor:
        if mask is not None:
            x = x * mask
        if not self.context:
            return super().forward(x)
        if stream is None:
            if torch.onnx.is_in_onnx_export():
                return _LeftPaddedConv.apply(x, self.weight, self.bias, self.context, self.dilation[0], self.groups)
            x = F.pad(x, (self.context, 0))
        else:
            x = torch.cat([stream.inputs[self.state_slot], x], dim=-1)
            stream.outputs[self.state_slot] = x[..., -self.context:]
        return super().forward(x)


class SameConv1d(nn.Conv1d):
    """Centred ("same") Conv1d for offline models; odd kernels only so no sample shifts."""

    def __init__(self, in_chs: int, out_chs: int, kernel_size: int, dilation: int = 1, stride: int = 1,
                 groups: int = 1, bias: bool = True):
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd for centred padding, got {kernel_size}")
        super().__init__(in_chs, out_chs, kernel_size, stride=stride, dilation=dilation,
                         padding=(kernel_size - 1) // 2 * dilation, groups=groups, bias=bias)

    def forward(self, x: torch.Tensor, mask: Mask = None, stream: StreamState | None = None) -> torch.Tensor:
        if stream is not None:
            raise RuntimeError("a centred convolution sees the future and cannot stream; build the model with causal=True")
        if mask is not None:
            x = x * mask
        return super().forward(x)


def create_conv1d(in_chs: int, out_chs: int, kernel_size: int, dilation: int = 1, stride: int = 1,
                  groups: int = 1, bias: bool = True, causal: bool = False) -> nn.Module:
    """A temporal conv taking `(x, mask, stream)`: causal (left padding) or centred."""
    if causal:
        if stride != 1:
            raise ValueError("causal convolutions stream one sample at a time and need stride 1")
        return CausalConv1d(in_chs, out_chs, kernel_size, dilation=dilation, groups=groups, bias=bias)
    return SameConv1d(in_chs, out_chs, kernel_size, dilation=dilation, stride=stride, groups=groups, bias=bias)


class RunningMeanPool(nn.Module):
    """Causal pooling: output t is the masked mean of inputs 0..t (zero before the first real sample).

    State: the running sum `(C,)` and count `(1,)` per sequence.
    """

    def __init__(self, chs: int):
        super().__init__()
        self.chs = chs
        self.state_slot = -1

    def state_shapes(self) -> list[tuple[int, ...]]:
        return [(self.chs,), (1,)]

    def forward(self, x: torch.Tensor, mask: Mask = None, stream: StreamState | None = None) -> torch.Tensor:
        ones = torch.ones_like(x[:, :1])
        if mask is not None:
            x = x * mask
            ones = ones * mask
        # one streamed sample needs no prefix sum (a step graph without CumSum nodes)
        single = stream is not None and stream.one_sample
        total = x if single else x.cumsum(dim=-1)
        count = ones if single else ones.cumsum(dim=-1)
        if stream is not None:
            total = total + stream.inputs[self.state_slot].unsqueeze(-1)
            count = count + stream.inputs[self.state_slot + 1].unsqueeze(-1)
            stream.outputs[self.state_slot] = total[..., -1]
            stream.outputs[self.state_slot + 1] = count[..., -1]
        return total / count.clamp(min=1.0)
