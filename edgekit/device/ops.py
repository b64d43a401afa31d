"""The device program's typed op list: what the generated C does, one kernel call per op.

Values are uint8 codes ("u8", the exported activations) or float32 ("f32", what ONNX Runtime
leaves in float); every value is laid out row-major in its ONNX shape, so `(1, C, T)` is
`[C][T]`. Each op names its input and output values; parameters are numpy arrays that become
`const` arrays in flash. Kernel semantics: `firmware_bridge/model/ek_kernels.h`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

U8, F32 = "u8", "f32"


@dataclass
class Value:
    name: str
    kind: str  # U8 | F32
    shape: tuple[int, ...]

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1

    @property
    def nbytes(self) -> int:
        return self.size * (1 if self.kind == U8 else 4)


@dataclass
class Op:
    inputs: list[str]
    output: str
    source: str = ""  # the ONNX node(s) it came from, for comments and errors


@dataclass
class Alias(Op):
    """y is x under another shape (Reshape, Unsqueeze, an identity table): the same bytes."""


@dataclass
class Quantize(Op):
    scale: float = 1.0
    zero_point: int = 0


@dataclass
class Dequantize(Op):
    scale: float = 1.0
    zero_point: int = 0


@dataclass
class Lut(Op):
    table: np.ndarray = field(default_factory=lambda: np.arange(256, dtype=np.uint8))


@dataclass
class Conv(Op):
    weights: np.ndarray = None  # int8 [c_out][row]
    bias: np.ndarray = None  # int32, input zero point folded in
    scale: np.ndarray = None  # float32 per output channel
    c_out: int = 0
    c_in: int = 0
    kernel: int = 1
    dilation: int = 1
    stride: int = 1
    t_in: int = 1
    t_out: int = 1
    depthwise: bool = False
    y_zero_point: int = 0

    @property
    def macs(self) -> int:
        per_out = self.kernel * (1 if self.depthwise else self.c_in)
        return self.c_out * self.t_out * per_out


@dataclass
class DwRing(Op):
    """A step model's depthwise conv over its state ring (ek_k_dwconv_ring): the fused
    Concat(state, x) -> Conv -> Slice of ONNX; `state` indexes Program.states."""
    state: int = 0
    weights: np.ndarray = None  # int8 [channels][kernel]
    bias: np.ndarray = None
    scale: np.ndarray = None
    channels: int = 0
    kernel: int = 1
    dilation: int = 1
    y_zero_point: int = 0
    table: np.ndarray | None = None  # re-quantizes x into the state's codes

    @property
    def macs(self) -> int:
        return self.channels * self.kernel


@dataclass
class GlobalAvgPool(Op):
    """QLinearGlobalAveragePool over (channels, length) codes."""
    channels: int = 1
    length: int = 1
    x_zero_point: int = 0
    scale: float = 1.0
    y_zero_point: int = 0


@dataclass
class QBinary(Op):
    """QLinearAdd / QLinearMul as ORT calls MLAS: inputs are (MLAS A, MLAS B), already swapped."""
    kind: str = "add"
    spans: int = 1
    span: int = 1
    a_step: int = 0
    b_step: int = 0
    b_scalar: bool = False
    ratio_a: float = 0.0
    ratio_b: float = 0.0
    offset: float = 0.0
    a_zero_point: int = 0
    b_zero_point: int = 0


@dataclass
class Concat(Op):
    rows: int = 1
    cols: list[int] = field(default_factory=list)
    tables: list[np.ndarray | None] = field(default_factory=list)


@dataclass
class FloatBinary(Op):
    """a (op) b over (rows, cols); an operand may be a constant (named in Program.constants)."""
    op: str = "add"  # add | sub | mul | div
    rows: int = 1
    cols: int = 1
    strides: tuple[int, int, int, int] = (0, 0, 0, 0)  # a_rs, a_cs, b_rs, b_cs


@dataclass
class DqBinaryQ(Op):
    """Quantize(Dequantize(a) (op) b) over n elements, b stepping by b_step (0: one value);
    inputs (a codes, b floats)."""
    op: str = "div"
    a_scale: float = 1.0
    a_zero_point: int = 0
    b_step: int = 1
    y_scale: float = 1.0
    y_zero_point: int = 0


@dataclass
class FloatNanTo(Op):
    """Where(IsNaN(x), fill, x); inputs (x, fill constant)."""
    rows: int = 1
    cols: int = 1
    fill_strides: tuple[int, int] = (0, 0)


@dataclass
class FloatCumSum(Op):
    rows: int = 1
    cols: int = 1


@dataclass
class FloatMeanAxis(Op):
    """ReduceMean over the middle axis of an (outer, n, inner) block, keeping it: -> (outer, 1, inner)."""
    outer: int = 1
    n: int = 1
    inner: int = 1


@dataclass
class FloatSqrt(Op):
    pass


@dataclass
class FloatClip(Op):
    low: float = float("-inf")
    high: float = float("inf")


@dataclass
class FloatAffine(Op):
    """x * mul[row] + add[row] (BatchNormalization as ORT computes it); inputs (x, mul, add)."""
    rows: int = 1
    cols: int = 1


@dataclass
class Gather2D(Op):
    """y[r][c] = x[offset + r * rs + c * cs]: transpose, slice, gather."""
    rows: int = 1
    cols: int = 1
    offset: int = 0
    rs: int = 0
    cs: int = 1


@dataclass
class PadCols(Op):
    rows: int = 1
    cols: int = 1
    left: int = 0
    right: int = 0
    value: int = 0


@dataclass
class StateIO:
    """A step model's recurrent state: the ONNX float pair (state_in_i, state_out_i) held on the
    device as the uint8 codes the graph quantizes state_in_i to. `value` is that quantized value
    (read at the start of a step); `source` the value state_out_i dequantizes (its codes are mapped
    by `remap` = Q_in(DQ_out(code)) into the state at the end of the step)."""
    index: int
    value: str
    source: str
    remap: np.ndarray | None  # None: identity
    reset_code: int
    in_place: bool = False  # the memory plan computes the source straight into the state
    ring_length: int = 0  # > 0: a DwRing's ring of (channels, ring_length) codes + a uint32 position


@dataclass
class Program:
    kind: str  # "window" | "step"
    values: dict[str, Value]
    ops: list[Op]
    constants: dict[str, np.ndarray]  # float constants read by float ops
    input: str  # float features: (1, T, C) window or (1, C) sample
    output: str  # float logits (1, K)
    states: list[StateIO] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # float fallbacks and anything else to report

    @property
    def macs(self) -> int:
        return sum(op.macs for op in self.ops if isinstance(op, (Conv, DwRing)))
