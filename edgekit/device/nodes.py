"""One device op per node of ORT's optimised graph (the second pass of `lower.py`): integer kernels
for ORT's QLinear* nodes and QGemm with its requantization constants computed as its kernels
compute them (float32, in the same order), float kernels for what ORT keeps in float (input
normalization, CumSum, Div, Clip, BatchNormalization), data movement; anything else is a
`DeviceExportError` naming the node and, where known, the device-friendly change.
"""

from __future__ import annotations

import numpy as np

from edgekit.device import ops
from edgekit.device.graph import DeviceExportError, Graph, Node, run_nodes
from edgekit.device.ops import F32, U8, Value

FLOAT_BINARY = {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min"}
ADVICE = {"LayerNormalization": "use BatchNorm (foldable into the conv before it) where LayerNorm is not needed",
          "ReduceMean": "pool with GlobalAveragePool (an integer QLinearGlobalAveragePool in ORT) instead of a mean",
          "Erf": "use an activation ORT quantizes between Q/DQ (SiLU, HardSwish, ReLU) or keep GELU inside a "
                 "quantized region"}


def requant_table(g: Graph, src: tuple[float, int], dst: tuple[float, int], dtype=np.uint8) -> np.ndarray | None:
    """Q_dst(DQ_src(code)) for every code by ORT's own kernels; None when it is the identity."""
    names = ["rq_x", "rq_s0", "rq_z0", "rq_f", "rq_s1", "rq_z1", "rq_y"]
    consts = {"rq_s0": np.float32(src[0]), "rq_z0": np.array(src[1], dtype), "rq_s1": np.float32(dst[0]),
              "rq_z1": np.array(dst[1], dtype)}
    nodes = [Node("DequantizeLinear", names[0:3], [names[3]], {}), Node("QuantizeLinear", names[3:6], [names[6]], {})]
    out = run_nodes(nodes, {"rq_x": np.arange(256, dtype=dtype)}, consts, ["rq_y"], {"rq_y": np.dtype(dtype)})[0]
    return None if np.array_equal(out, np.arange(256)) else out.astype(np.uint8)


class Lowering:
    def __init__(self, g: Graph, kind: str):
        self.g, self.kind = g, kind
        self.values: dict[str, Value] = {}
        self.ops: list[ops.Op] = []
        self.constants: dict[str, np.ndarray] = {}
        self.notes: list[str] = []

    # --- helpers ---------------------------------------------------------------------------------
    def value(self, name: str, kind: str | None = None) -> str:
        if name not in self.values:
            kind = kind or (U8 if self.g.dtypes[name] == np.uint8 else F32)
            self.values[name] = Value(name, kind, tuple(self.g.shapes[name]))
        return name

    def const_f32(self, name: str) -> str:
        self.constants[name] = np.asarray(self.g.constants[name], np.float32)
        return name

    def qparams(self, scale: str, zero_point: str) -> tuple[float, int]:
        g = self.g
        if g.dtypes[zero_point] != np.uint8:
            raise DeviceExportError(f"zero point {zero_point} is {g.dtypes[zero_point]}; the device code takes uint8 "
                                    "activations (export with --int8's default QUInt8 activations)")
        return float(np.float32(g.scalar(scale))), int(g.scalar(zero_point))

    def emit(self, op: ops.Op) -> None:
        for name in op.inputs:
            if name not in self.constants:
                self.value(name)
        self.value(op.output)
        self.ops.append(op)


def _shape2(shape: tuple[int, ...]) -> tuple[int, int]:
    """(rows, cols) of a value: its last axis against all the others."""
    if not shape:
        return 1, 1
    return int(np.prod(shape[:-1], dtype=np.int64)), int(shape[-1])


def broadcast_strides(shape: tuple[int, ...], out: tuple[int, ...]) -> tuple[int, int]:
    """(row, col) element strides reading `shape` broadcast to `out` in (rows, cols) order."""
    full = (1,) * (len(out) - len(shape)) + tuple(shape)
    rows, cols = _shape2(out)
    col_stride = 1 if full[-1] == out[-1] else 0
    if int(np.prod(full[:-1], dtype=np.int64)) == rows:
        return (full[-1] if rows > 1 else 0), col_stride
    if all(d == 1 for d in full[:-1]):
        return 0, col_stride
    raise DeviceExportError(f"broadcast of {shape} to {out} is not a row/column broadcast")


# --- one op per node -------------------------------------------------------------------------------
def _conv(lw: Lowering, node: Node) -> None:
    g = lw.g
    x, xs, xz, w, ws, wz, ys, yz = node.inputs[:8]
    bias = node.inputs[8] if len(node.inputs) > 8 and node.inputs[8] else None
    if not g.is_const(w):
        raise DeviceExportError(f"{node.describe()}: weights are not constant")
    weights = np.asarray(g.constants[w])
    if weights.ndim != 3 or weights.dtype != np.int8:
        raise DeviceExportError(f"{node.describe()}: expected 1-D conv int8 weights (out, in/group, k), got "
                                f"{weights.dtype} {weights.shape}")
    if np.any(np.asarray(g.constants[wz]) != 0):
        raise DeviceExportError(f"{node.describe()}: weight zero points must be 0 (symmetric weights)")
    x_scale, x_zp = lw.qparams(xs, xz)
    y_scale, y_zp = lw.qparams(ys, yz)
    c_out, per_group, kernel = weights.shape
    group = int(node.attrs.get("group", 1))
    (c_in, t_in), (_, t_out) = g.shapes[x][1:], g.shapes[node.outputs[0]][1:]
    depthwise = group > 1
    if depthwise and not (group == c_in == c_out and per_group == 1):
        raise DeviceExportError(f"{node.describe()}: grouped conv with {group} groups of {per_group}; only dense "
                                "and depthwise convs are supported")
    pads = list(node.attrs.get("pads", [0, 0]))
    if any(pads):
        padded = f"{x}_pad{pads[0]}_{pads[1]}"
        lw.values[padded] = Value(padded, U8, (1, c_in, t_in + pads[0] + pads[1]))
        lw.emit(ops.PadCols([x], padded, node.describe(), rows=c_in, cols=t_in, left=pads[0], right=pads[1],
                            value=x_zp))
        x, t_in = padded, t_in + pads[0] + pads[1]
    w_scale = np.broadcast_to(np.asarray(g.constants[ws], np.float32).reshape(-1), (c_out,))
    # ORT's QLinearConv: output_scales[c] = X_scale * W_scale[c] / Y_scale, in float
    scale = (np.float32(x_scale) * w_scale).astype(np.float32) / np.float32(y_scale)
    rows = weights.reshape(c_out, -1).astype(np.int64)
    b = np.asarray(g.constants[bias], np.int64) if bias else np.zeros(c_out, np.int64)
    folded = b - x_zp * rows.sum(axis=1)
    if np.abs(folded).max(initial=0) >= 2 ** 31:
        raise DeviceExportError(f"{node.describe()}: bias with the folded zero point overflows int32")
    rows_w = weights.reshape(c_out, -1)
    inputs = [x]
    if not depthwise:  # a scratch for the M4's widened input (ek_k_conv)
        scratch = f"{node.outputs[0]}_scratch"
        column = 4 * ((c_in + 3) // 4) if t_in > 1 else 0  # a gathered time step (ek_k_conv on the M4)
        lw.values[scratch] = Value(scratch, U8, (8 * ((c_in + 3) // 4) + column,))
        inputs.append(scratch)
    lw.emit(ops.Conv(inputs, node.outputs[0], node.describe(), weights=rows_w,
                     bias=folded.astype(np.int32), scale=scale.astype(np.float32), c_out=c_out, c_in=c_in,
                     kernel=kernel, dilation=int(node.attrs.get("dilations", [1])[0]),
                     stride=int(node.attrs.get("strides", [1])[0]), t_in=t_in, t_out=t_out, depthwise=depthwise,
                     y_zero_point=y_zp))


def _qgemm(lw: Lowering, node: Node) -> None:
    """ORT's QGemm (A (1, K) uint8 x B int8 + int32 bias, requantized) as a 1x1 conv on one sample:
    output scale (alpha * a_scale * b_scale[n]) / y_scale, as its kernel computes it."""
    g = lw.g
    a, a_s, a_z, b, b_s, b_z = node.inputs[:6]
    bias = node.inputs[6] if len(node.inputs) > 6 and node.inputs[6] else None
    if len(node.inputs) < 9 or not node.inputs[7]:
        raise DeviceExportError(f"{node.describe()}: a QGemm with a float output is not supported")
    if node.attrs.get("transA", 0) or not g.is_const(b) or g.shapes[a][0] != 1:
        raise DeviceExportError(f"{node.describe()}: expected A (1, K) times constant weights")
    weights = np.asarray(g.constants[b])
    if node.attrs.get("transB", 0) == 0:
        weights = weights.T  # (N, K): one row per output
    if np.any(np.asarray(g.constants[b_z]) != 0):
        raise DeviceExportError(f"{node.describe()}: weight zero points must be 0 (symmetric weights)")
    (x_scale, x_zp), (y_scale, y_zp) = lw.qparams(a_s, a_z), lw.qparams(*node.inputs[7:9])
    n, k = weights.shape
    w_scale = np.broadcast_to(np.asarray(g.constants[b_s], np.float32).reshape(-1), (n,))
    alpha_x = np.float32(node.attrs.get("alpha", 1.0)) * np.float32(x_scale)
    scale = (alpha_x * w_scale).astype(np.float32) / np.float32(y_scale)
    b_int = np.asarray(g.constants[bias], np.int64).reshape(-1) if bias else np.zeros(n, np.int64)
    folded = b_int - x_zp * weights.astype(np.int64).sum(axis=1)
    scratch = f"{node.outputs[0]}_scratch"
    lw.values[scratch] = Value(scratch, U8, (8 * ((k + 3) // 4),))
    lw.emit(ops.Conv([a, scratch], node.outputs[0], node.describe(), weights=np.ascontiguousarray(weights, np.int8),
                     bias=folded.astype(np.int32), scale=scale.astype(np.float32), c_out=n, c_in=k, t_in=1, t_out=1,
                     y_zero_point=y_zp))


def _qbinary(lw: Lowering, node: Node) -> None:
    """ORT's BroadcastLooper: which MLAS call (scalar A, scalar B, two spans) each span gets."""
    g = lw.g
    a, sa, za, b, sb, zb, sc, zc = node.inputs[:8]
    (sa, za), (sb, zb), (sc, zc) = lw.qparams(sa, za), lw.qparams(sb, zb), lw.qparams(sc, zc)
    out = g.shapes[node.outputs[0]]
    shape_a, shape_b = g.shapes[a], g.shapes[b]
    size = int(np.prod(out, dtype=np.int64))
    size_a, size_b = int(np.prod(shape_a, dtype=np.int64)), int(np.prod(shape_b, dtype=np.int64))
    swap, spans, span, step_a, step_b, b_scalar = False, 1, size, size, 0, False
    if size_a == 1 and size_b != 1:
        swap, b_scalar = True, True  # functor 0: MLAS(A = input1, B = input0 scalar)
    elif size_b == 1:
        b_scalar = True
    elif shape_a != shape_b:
        rows, cols = _shape2(out)
        (a_rs, a_cs), (b_rs, b_cs) = broadcast_strides(shape_a, out), broadcast_strides(shape_b, out)
        if a_cs == 1 and b_cs == 1:  # both full along the span, one repeats across spans
            spans, span, step_a, step_b = rows, cols, a_rs, b_rs
        elif a_cs == 1 and b_cs == 0:  # b one code per span
            spans, span, step_a, step_b, b_scalar = rows, cols, a_rs, b_rs, True
        elif a_cs == 0 and b_cs == 1:
            spans, span, step_a, step_b, b_scalar, swap = rows, cols, b_rs, a_rs, True, True
        else:
            raise DeviceExportError(f"{node.describe()}: broadcast {shape_a} with {shape_b} is not supported")
    else:
        step_a = step_b = 0
    if swap:
        a, b, (sa, za), (sb, zb) = b, a, (sb, zb), (sa, za)
    if node.op == "QLinearAdd":
        ra, rb = np.float32(sa) / np.float32(sc), np.float32(sb) / np.float32(sc)
        offset = np.float32(zc) - _fma32(ra, np.float32(za), rb * np.float32(zb))
        params = dict(kind="add", ratio_a=float(ra), ratio_b=float(rb), offset=float(offset))
    else:
        params = dict(kind="mul", ratio_a=float(np.float32(np.float32(sa) * np.float32(sb)) / np.float32(sc)),
                      offset=float(np.float32(zc)), a_zero_point=za, b_zero_point=zb)
    lw.emit(ops.QBinary([a, b], node.outputs[0], node.describe(), spans=spans, span=span, a_step=step_a,
                        b_step=step_b, b_scalar=b_scalar, **params))


def _fma32(a, b, c) -> np.float32:
    """float32 fused multiply-add, exactly (what the compiler made of MLAS's constant term)."""
    from fractions import Fraction

    return np.float32(float(Fraction(float(a)) * Fraction(float(b)) + Fraction(float(c))))


def _concat(lw: Lowering, node: Node) -> None:
    g = lw.g
    ys, yz = node.inputs[0], node.inputs[1]
    y_params = lw.qparams(ys, yz)
    out = g.shapes[node.outputs[0]]
    axis = int(node.attrs["axis"]) % len(out)
    rows = int(np.prod(out[:axis], dtype=np.int64))
    names, cols, tables = [], [], []
    for i in range(2, len(node.inputs), 3):
        x, xs, xz = node.inputs[i:i + 3]
        names.append(x)
        cols.append(int(np.prod(g.shapes[x][axis:], dtype=np.int64)))
        tables.append(requant_table(g, lw.qparams(xs, xz), y_params))
    if len(names) > 4:
        raise DeviceExportError(f"{node.describe()}: more than 4 inputs")
    lw.emit(ops.Concat(names, node.outputs[0], node.describe(), rows=rows, cols=cols, tables=tables))


def _float_binary(lw: Lowering, node: Node) -> None:
    g = lw.g
    name = {"Add": "add", "Sub": "sub", "Mul": "mul", "Div": "div"}.get(node.op)
    if name is None:
        raise DeviceExportError(f"{node.describe()}: float {node.op} is not supported on the device")
    out = g.shapes[node.outputs[0]]
    inputs = [lw.const_f32(i) if g.is_const(i) else i for i in node.inputs]
    rows, cols = _shape2(out)
    (a_rs, a_cs), (b_rs, b_cs) = (broadcast_strides(g.shapes[n], out) for n in node.inputs)
    if cols == 1:  # one column: the column strides are never used, so every operand walks its rows
        a_cs, b_cs = a_rs, b_rs
    if a_rs == cols * a_cs and b_rs == cols * b_cs:  # no row broadcast: one flat pass
        rows, cols, a_rs, b_rs = 1, rows * cols, 0, 0
    lw.emit(ops.FloatBinary(inputs, node.outputs[0], node.describe(), op=name, rows=rows, cols=cols,
                            strides=(a_rs, a_cs, b_rs, b_cs)))


def _batch_norm(lw: Lowering, node: Node) -> None:
    """ORT's inference BatchNormalization (Eigen): inv_std = 1 / sqrt(var + eps), new_scale =
    inv_std * scale, new_bias = bias - mean * new_scale, y = x * new_scale + new_bias, in float32."""
    g = lw.g
    x, scale, bias, mean, var = node.inputs
    if not all(g.is_const(n) for n in (scale, bias, mean, var)):
        raise DeviceExportError(f"{node.describe()}: BatchNormalization in training mode")
    f = lambda n: np.asarray(g.constants[n], np.float32).reshape(-1)  # noqa: E731
    eps = np.float32(node.attrs.get("epsilon", 1e-5))
    inv_std = np.float32(1.0) / np.sqrt(f(var) + eps)
    new_scale = (inv_std * f(scale)).astype(np.float32)
    new_bias = (f(bias) - f(mean) * new_scale).astype(np.float32)
    shape = g.shapes[x]
    if len(shape) < 2 or shape[1] != new_scale.size or int(np.prod(shape[:2])) != shape[1]:
        raise DeviceExportError(f"{node.describe()}: BatchNormalization on {shape}; expected (1, C, ...)")
    mul, add = f"{node.outputs[0]}_bn_scale", f"{node.outputs[0]}_bn_bias"
    lw.constants[mul], lw.constants[add] = new_scale, new_bias
    lw.emit(ops.FloatAffine([x, mul, add], node.outputs[0], node.describe(), rows=shape[1],
                            cols=int(np.prod(shape[2:], dtype=np.int64))))


def _movement(lw: Lowering, node: Node) -> None:
    """Transpose / Slice / Gather / Pad on codes or floats, as a 2-D strided copy or a pad."""
    g = lw.g
    x, y = node.inputs[0], node.outputs[0]
    shape, out = g.shapes[x], g.shapes[y]
    if node.op == "Transpose":
        perm = list(node.attrs.get("perm", range(len(shape)))[::-1])[::-1]
        if [p for p in perm if shape[p] != 1] == [d for d in range(len(shape)) if shape[d] != 1]:
            return _alias(lw, x, y, node)  # only length-1 axes move: the bytes keep their order
        rows, cols = _shape2(out)
        if len(shape) != 3 or shape[0] != 1 or list(node.attrs["perm"]) != [0, 2, 1]:
            raise DeviceExportError(f"{node.describe()}: only (0, 2, 1) transposes of (1, A, B) are supported")
        return lw.emit(ops.Gather2D([x], y, node.describe(), rows=rows, cols=cols, offset=0, rs=1, cs=shape[2]))
    if node.op in ("Slice", "Gather"):
        index = [slice(None)] * len(shape)
        if node.op == "Gather":
            axis = int(node.attrs.get("axis", 0)) % len(shape)
            i = int(g.scalar(node.inputs[1]))
            index[axis] = slice(i % shape[axis], i % shape[axis] + 1)
        else:
            starts, ends = (np.asarray(g.constants[n]).reshape(-1) for n in node.inputs[1:3])
            axes = np.asarray(g.constants[node.inputs[3]]).reshape(-1) if len(node.inputs) > 3 and node.inputs[3] \
                else np.arange(len(starts))
            steps = np.asarray(g.constants[node.inputs[4]]).reshape(-1) if len(node.inputs) > 4 and node.inputs[4] \
                else np.ones(len(starts), np.int64)
            for s, e, a, st in zip(starts, ends, axes, steps):
                index[int(a) % len(shape)] = slice(int(s), int(e) if e < 2 ** 62 else None, int(st))
        positions = np.arange(int(np.prod(shape, dtype=np.int64))).reshape(shape)[tuple(index)]
        flat = positions.reshape(-1)
        if np.array_equal(flat, flat[0] + np.arange(flat.size)):  # one contiguous block: one copy
            if flat[0] == 0 and flat.size == int(np.prod(shape, dtype=np.int64)):
                return _alias(lw, x, y, node)
            return lw.emit(ops.Gather2D([x], y, node.describe(), rows=1, cols=int(flat.size), offset=int(flat[0]),
                                        rs=0, cs=1))
        positions = positions.reshape(_shape2(positions.shape))
        rows, cols = positions.shape
        rs = int(positions[1, 0] - positions[0, 0]) if rows > 1 else 0
        cs = int(positions[0, 1] - positions[0, 0]) if cols > 1 else 1
        expected = positions[0, 0] + rs * np.arange(rows)[:, None] + cs * np.arange(cols)[None, :]
        if not np.array_equal(positions, expected):
            raise DeviceExportError(f"{node.describe()}: the selection is not a 2-D strided block")
        return lw.emit(ops.Gather2D([x], y, node.describe(), rows=rows, cols=cols, offset=int(positions[0, 0]),
                                    rs=rs, cs=cs))
    raise DeviceExportError(f"{node.describe()}: {node.op} is not supported on the device")


def _alias(lw: Lowering, x: str, y: str, node: Node) -> None:
    lw.emit(ops.Alias([x], y, node.describe()))


def _quantize(lw: Lowering, node: Node) -> None:
    scale, zp = lw.qparams(node.inputs[1], node.inputs[2])
    lw.emit(ops.Quantize([node.inputs[0]], node.outputs[0], node.describe(), scale=scale, zero_point=zp))


def _dequantize(lw: Lowering, node: Node) -> None:
    scale, zp = lw.qparams(node.inputs[1], node.inputs[2])
    lw.emit(ops.Dequantize([node.inputs[0]], node.outputs[0], node.describe(), scale=scale, zero_point=zp))


def _where(lw: Lowering, node: Node) -> None:
    g = lw.g
    cond, fill, x = node.inputs
    test = g.producer(cond)
    if test is None or test.op != "IsNaN" or test.inputs[0] != x or not g.is_const(fill):
        raise DeviceExportError(f"{node.describe()}: only Where(IsNaN(x), constant, x) is supported")
    rows, cols = _shape2(g.shapes[x])
    values = np.asarray(g.constants[fill], np.float32)
    compact = values.reshape(-1)[:1] if np.all(values == values.reshape(-1)[0]) else values
    lw.constants[fill] = compact  # the exporter's fill is a full (1, T, C) block of zeros
    lw.emit(ops.FloatNanTo([x, fill], node.outputs[0], node.describe(), rows=rows, cols=cols,
                           fill_strides=broadcast_strides(compact.shape, g.shapes[x])))


def _cumsum(lw: Lowering, node: Node) -> None:
    g = lw.g
    shape = g.shapes[node.inputs[0]]
    axis = int(g.scalar(node.inputs[1])) % len(shape)
    if node.attrs.get("exclusive", 0) or node.attrs.get("reverse", 0) or axis != len(shape) - 1:
        raise DeviceExportError(f"{node.describe()}: only an inclusive forward CumSum along the last axis")
    rows, cols = _shape2(shape)
    lw.emit(ops.FloatCumSum([node.inputs[0]], node.outputs[0], node.describe(), rows=rows, cols=cols))


def _reduce_mean(lw: Lowering, node: Node) -> None:
    """A float mean over one axis, kept (a student's `window_standardize`: its time axis)."""
    g = lw.g
    shape = g.shapes[node.inputs[0]]
    axes = node.attrs.get("axes")
    if axes is None and len(node.inputs) > 1 and node.inputs[1] and g.is_const(node.inputs[1]):
        axes = np.asarray(g.constants[node.inputs[1]]).reshape(-1).tolist()
    if axes is None or len(axes) != 1 or not node.attrs.get("keepdims", 1):
        raise DeviceExportError(f"node {node.describe()}: ReduceMean stays in float in onnxruntime's INT8 graph and "
                                "has a device kernel only over one axis, kept; make the student device-friendly: "
                                f"{ADVICE['ReduceMean']}")
    axis = int(axes[0]) % len(shape)
    lw.emit(ops.FloatMeanAxis([node.inputs[0]], node.outputs[0], node.describe(),
                              outer=int(np.prod(shape[:axis], dtype=np.int64)), n=int(shape[axis]),
                              inner=int(np.prod(shape[axis + 1:], dtype=np.int64))))


def _sqrt(lw: Lowering, node: Node) -> None:
    lw.emit(ops.FloatSqrt([node.inputs[0]], node.outputs[0], node.describe()))


def _clip(lw: Lowering, node: Node) -> None:
    g = lw.g
    bound = lambda i, d: float(g.scalar(node.inputs[i])) if len(node.inputs) > i and node.inputs[i] else d  # noqa
    lw.emit(ops.FloatClip([node.inputs[0]], node.outputs[0], node.describe(), low=bound(1, float("-inf")),
                          high=bound(2, float("inf"))))


def _unsupported(lw: Lowering, node: Node) -> None:
    advice = ADVICE.get(node.op)
    raise DeviceExportError(f"node {node.describe()}: {node.op} stays in float in onnxruntime's INT8 graph and has "
                            f"no device kernel" + (f"; make the student device-friendly: {advice}" if advice else ""))




def _global_avg_pool(lw: Lowering, node: Node) -> None:
    g = lw.g
    x = node.inputs[0]
    (xs, xz), (ys, yz) = lw.qparams(*node.inputs[1:3]), lw.qparams(*node.inputs[3:5])
    shape = g.shapes[x]
    if node.attrs.get("channels_last", 0) or len(shape) != 3 or shape[0] != 1:
        raise DeviceExportError(f"{node.describe()}: expected a channels-first (1, C, T) input")
    # MLAS: scale = ScaleInput / (ScaleOutput * float(ImageSize)), in float
    scale = np.float32(xs) / (np.float32(ys) * np.float32(shape[2]))
    lw.emit(ops.GlobalAvgPool([x], node.outputs[0], node.describe(), channels=shape[1], length=shape[2],
                              x_zero_point=xz, scale=float(scale), y_zero_point=yz))


def _codes_concat(lw: Lowering, node: Node) -> None:
    g = lw.g
    out = g.shapes[node.outputs[0]]
    axis = int(node.attrs["axis"]) % len(out)
    cols = [int(np.prod(g.shapes[x][axis:], dtype=np.int64)) for x in node.inputs]
    if len(cols) > 4 or g.dtypes[node.outputs[0]] != np.uint8:
        raise DeviceExportError(f"{node.describe()}: only concats of up to 4 uint8 inputs are supported")
    lw.emit(ops.Concat(list(node.inputs), node.outputs[0], node.describe(),
                       rows=int(np.prod(out[:axis], dtype=np.int64)),
                       cols=cols, tables=[None] * len(cols)))


HANDLERS = {"QLinearConv": _conv, "QGemm": _qgemm, "QLinearAdd": _qbinary, "QLinearMul": _qbinary,
            "QLinearConcat": _concat,
            "QuantizeLinear": _quantize, "DequantizeLinear": _dequantize, "Where": _where, "CumSum": _cumsum,
            "Clip": _clip, "ReduceMean": _reduce_mean, "Sqrt": _sqrt, "BatchNormalization": _batch_norm,
            "Transpose": _movement, "Slice": _movement, "Gather": _movement, "Concat": _codes_concat,
            "QLinearGlobalAveragePool": _global_avg_pool, **{op: _float_binary for op in FLOAT_BINARY}}
