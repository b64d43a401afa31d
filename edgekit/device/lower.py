"""ORT's optimised graph (`graph.Graph`) → the device program (`ops.Program`).

Two passes:
1. Element-wise regions. Every value computed element by element from one uint8 tensor x (through
   DequantizeLinear, float activations such as Sigmoid/Erf/GELU/SiLU, QLinearSigmoid,
   QLinearMul(x, f(x)), CumSum over a length-1 axis, QuantizeLinear...) is a function of x's 8-bit
   code alone. Where such a value leaves its region (another kind of node reads it), it becomes
   one 256-entry table filled by running ONNX Runtime on the region with x set to each code in
   turn, in x's real shape; every element must agree, so the table is exact by construction.
2. One op per remaining node: integer kernels for ORT's QLinear* nodes, float kernels for what ORT
   keeps in float (input normalization, CumSum, Div, Clip, BatchNormalization), data movement.
   Anything else is a `DeviceExportError` naming the node.
"""

from __future__ import annotations

import numpy as np

from edgekit.device import ops
from edgekit.device.graph import MS_DOMAIN, DeviceExportError, Graph, Node, nodes_session
from edgekit.device.nodes import FLOAT_BINARY, HANDLERS, Lowering, _alias, _shape2, _unsupported, requant_table
from edgekit.device.ops import F32, Program

FLOAT_UNARY = {"Relu", "Sigmoid", "Tanh", "Erf", "Exp", "Log", "Neg", "Abs", "Sqrt", "Softplus", "HardSigmoid",
               "HardSwish", "LeakyRelu", "Elu", "Selu", "Identity", "Clip", "Gelu", "FastGelu", "Reciprocal",
               "Floor", "Ceil", "Round", "Sign", "Mish", "QuickGelu"}
Q_UNARY = {"QLinearSigmoid", "QLinearLeakyRelu", "QLinearSoftplus"}
Q_BINARY = {"QLinearAdd", "QLinearMul"}
ALIASES = {"Unsqueeze", "Squeeze", "Reshape", "Flatten", "Identity"}



def _elementwise(node: Node, g: Graph) -> bool:
    consts_scalar = all(g.constants[i].size == 1 for i in node.inputs if i and g.is_const(i))
    if not consts_scalar:
        return False
    if node.op in ("QuantizeLinear", "DequantizeLinear") or node.op in Q_UNARY | Q_BINARY:
        return True
    if node.op in FLOAT_UNARY | FLOAT_BINARY and node.domain in ("", "ai.onnx", MS_DOMAIN):
        return True
    if node.op == "CumSum":
        axis = int(g.scalar(node.inputs[1]))
        return g.shapes[node.inputs[0]][axis] == 1
    return False


def element_roots(g: Graph) -> dict[str, str]:
    """value → the uint8 value it is an element-wise function of (values absent: their own root)."""
    roots: dict[str, str] = {}
    for node in g.nodes:
        if not _elementwise(node, g):
            continue
        dynamic = [i for i in node.inputs if i and not g.is_const(i)]
        found = {roots.get(i, i) for i in dynamic}
        out = node.outputs[0]
        if len(found) != 1 or any(g.shapes[i] != g.shapes[out] for i in dynamic):
            continue
        root = found.pop()
        if g.dtypes[root] == np.uint8 and root not in g.inputs:
            roots[out] = root
    return roots


def _region(g: Graph, roots: dict[str, str], value: str) -> list[Node]:
    """The nodes computing `value` from its root, in graph order."""
    root, todo, members = roots[value], [value], set()
    while todo:
        name = todo.pop()
        if name == root or g.is_const(name):
            continue
        node = g.producer(name)
        if id(node) not in members:
            members.add(id(node))
            todo.extend(i for i in node.inputs if i)
    return [n for n in g.nodes if id(n) in members]


def region_table(g: Graph, roots: dict[str, str], value: str) -> np.ndarray:
    """256-entry table of `value` over its root's codes, by ORT in the root's real shape."""
    root = roots[value]
    nodes, shape = _region(g, roots, value), g.shapes[root]
    session = nodes_session(nodes, {root: (shape, np.uint8)}, g.constants, [value], g.dtypes)
    table = np.zeros(256, np.uint8)
    for code in range(256):
        out = session.run([value], {root: np.full(shape, code, np.uint8)})[0]
        if out.min() != out.max():
            raise DeviceExportError(f"{value}: not element-wise in {root} (code {code} gives {out.min()}..{out.max()})")
        table[code] = out.reshape(-1)[0]
    return table


def _pad_codes(g: Graph, q: Node) -> tuple[str, dict] | None:
    """Q(Pad(DQ(x))) with one (scale, zero point) on both sides: a pad of the codes themselves."""
    pad = g.producer(q.inputs[0])
    if q.op != "QuantizeLinear" or pad is None or pad.op != "Pad" or pad.attrs.get("mode", b"constant") != b"constant":
        return None
    dq = g.producer(pad.inputs[0])
    if dq is None or dq.op != "DequantizeLinear" or [g.scalar(n) for n in dq.inputs[1:3]] != \
            [g.scalar(n) for n in q.inputs[1:3]]:
        return None
    pads = np.asarray(g.constants[pad.inputs[1]]).reshape(-1)
    rank = len(g.shapes[dq.inputs[0]])
    if np.any(pads[[i for i in range(2 * rank) if i % rank != rank - 1]] != 0):
        return None
    value = float(g.scalar(pad.inputs[2])) if len(pad.inputs) > 2 and pad.inputs[2] else 0.0
    scale, zp = float(g.scalar(q.inputs[1])), int(g.scalar(q.inputs[2]))
    code = int(np.clip(np.rint(np.float32(value) / np.float32(scale)) + zp, 0, 255))
    rows, cols = _shape2(g.shapes[dq.inputs[0]])
    return dq.inputs[0], dict(rows=rows, cols=cols, left=int(pads[rank - 1]), right=int(pads[2 * rank - 1]), value=code)


def quantize_concats(g: Graph) -> None:
    """Q(Concat(a, b, ...)) → Concat(Q(a), Q(b), ...) with Q's parameters: the float Concat of a step
    model's float state with a dequantized sample, quantized for the conv that reads it, becomes a
    concat of codes (Q is element-wise, so the bytes are the same) whose state part the device keeps
    as codes. Rewrites `g` in place."""
    nodes = []
    for node in g.nodes:
        readers = g.consumers.get(node.outputs[0], []) if node.op == "Concat" else []
        if node.op != "Concat" or g.dtypes[node.outputs[0]] != np.float32 or len(readers) != 1 \
                or readers[0].op != "QuantizeLinear":
            nodes.append(node)
            continue
        q = readers[0]
        parts = []
        for i, name in enumerate(node.inputs):
            part = f"{q.outputs[0]}_part{i}"
            g.shapes[part], g.dtypes[part] = g.shapes[name], g.dtypes[q.outputs[0]]
            nodes.append(Node("QuantizeLinear", [name, *q.inputs[1:]], [part], dict(q.attrs)))
            parts.append(part)
        nodes.append(Node("Concat", parts, [q.outputs[0]], dict(node.attrs)))
    moved = {id(n) for n in g.nodes if n.op == "QuantizeLinear" and g.producer(n.inputs[0]) is not None
             and g.producer(n.inputs[0]).op == "Concat" and g.dtypes[n.inputs[0]] == np.float32
             and len(g.consumers.get(n.inputs[0], [])) == 1}
    g.nodes = [n for n in nodes if id(n) not in moved]
    g.reindex()


def lower(g: Graph, kind: str, state_pairs: list[tuple[str, str]], input_name: str, output_name: str) -> Program:
    """The device program computing `output_name` (and each state_out from its state_in)."""
    quantize_concats(g)
    lw = Lowering(g, kind)
    roots = element_roots(g)
    states, state_values = [], {}
    for index, (s_in, s_out) in enumerate(state_pairs):
        readers = g.consumers.get(s_in, [])
        if readers and all(n.op != "QuantizeLinear" for n in readers):
            # a float state (a running sum or count kept in float by the exporter): float32 on the
            # device too, fed back unchanged as ORT's session feeds state_out back
            lw.value(s_in, F32)
            state_values[s_in] = s_in
            states.append(ops.StateIO(index, s_in, s_out, None, reset_code=0))
            continue
        if not readers or any(n.op != "QuantizeLinear" for n in readers):
            raise DeviceExportError(f"{s_in}: expected the step graph to quantize it (QuantizeLinear) before use")
        q = readers[0]
        dq = g.producer(s_out)
        if dq is None or dq.op != "DequantizeLinear":
            raise DeviceExportError(f"{s_out}: expected a DequantizeLinear output")
        q_params, dq_params = lw.qparams(*q.inputs[1:3]), lw.qparams(*dq.inputs[1:3])
        for other in readers[1:]:
            if lw.qparams(*other.inputs[1:3]) != q_params:
                raise DeviceExportError(f"{s_in}: quantized twice with different parameters")
            state_values[other.outputs[0]] = q.outputs[0]
        state_values[q.outputs[0]] = q.outputs[0]
        states.append(ops.StateIO(index, q.outputs[0], dq.inputs[0], requant_table(g, dq_params, q_params),
                                  reset_code=q_params[1]))
    # which values are needed, from the outputs back; each is computed by a table, a pad of codes,
    # a state read or its own node
    needed = {output_name, *(s.source for s in states)}
    plan: dict[str, tuple] = {}
    for node in reversed(g.nodes):
        for out in node.outputs:
            if out not in needed or out in plan:
                continue
            if out in state_values and out not in g.inputs:
                plan[out] = ("state",)
            elif out in roots and g.dtypes[out] == np.uint8 and node.op != "QuantizeLinear" or \
                    out in roots and node.op == "QuantizeLinear" and roots.get(node.inputs[0]) == roots[out]:
                plan[out] = ("table", roots[out])
                needed.add(roots[out])
            elif (padded := _pad_codes(g, node)) is not None:
                plan[out] = ("pad", *padded)
                needed.add(padded[0])
            else:
                plan[out] = ("node",)
                reads = node.inputs[2:] if node.op == "Where" else node.inputs  # Where(IsNaN(x), c, x) reads x
                needed.update(i for i in reads if i and not g.is_const(i))
    for name in state_values:
        if name in needed:
            lw.value(name)
    for node in g.nodes:
        out = node.outputs[0]
        how = plan.get(out)
        if how is None or how[0] == "state":
            if how and state_values[out] != out:
                lw.emit(ops.Alias([state_values[out]], out, node.describe()))
            continue
        if how[0] == "table":
            table = region_table(g, roots, out)
            if np.array_equal(table, np.arange(256)):
                lw.emit(ops.Alias([how[1]], out, node.describe() + " (identity table)"))
            else:
                lw.emit(ops.Lut([how[1]], out, node.describe(), table=table))
        elif how[0] == "pad":
            lw.emit(ops.PadCols([how[1]], out, node.describe(), **how[2]))
        elif node.op in ALIASES:
            _alias(lw, node.inputs[0], out, node)
        else:
            HANDLERS.get(node.op, _unsupported)(lw, node)
    for s in states:
        lw.value(s.value)
        lw.value(s.source)
    lw.value(input_name, F32)
    return Program(kind, lw.values, lw.ops, lw.constants, input_name, output_name, states, lw.notes)
