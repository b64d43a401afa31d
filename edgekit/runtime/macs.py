"""Multiply-accumulates of an ONNX graph, counted from the shapes of one real run (torch-free).

Exporters record no MAC count in `metadata_props`, and `edgekit.models.costs` needs torch, so the
runtime counts from the graph: every node output is exposed, the model runs once on a zero input
of the requested shape (batch 1, `length` samples; a step model one sample from the zero state),
and the observed shapes give, per node:

| op | MACs |
|---|---|
| Conv, ConvInteger, QLinearConv | output elements × (input channels / group) × kernel elements |
| ConvTranspose | input elements × (output channels / group) × kernel elements |
| MatMul, MatMulInteger, QLinearMatMul | output elements × the shared (reduced) dimension |
| Gemm | M × N × K |
| GRU / LSTM / RNN | steps × batch × directions × gates × hidden × (input + hidden) (gates 3 / 4 / 1) |

Everything else (elementwise ops, norms, activations, pooling, softmax) is not a MAC, as in
`edgekit.models.costs` (torch's FlopCounterMode), so the two counts agree on conv/linear models.
Control-flow subgraphs (Loop, Scan, If) are not entered.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

CONV_OPS = {"Conv": (0, 1), "ConvInteger": (0, 1), "QLinearConv": (0, 3)}  # op: (input index, weight index)
MATMUL_OPS = {"MatMul": (0, 1), "MatMulInteger": (0, 1), "QLinearMatMul": (0, 3)}
RNN_GATES = {"GRU": 3, "LSTM": 4, "RNN": 1}


def _observed_shapes(path: str | Path, feeds: dict[str, np.ndarray]):
    import onnx
    import onnxruntime as ort

    proto = onnx.load(str(path), load_external_data=False)
    shapes = {init.name: tuple(init.dims) for init in proto.graph.initializer}
    shapes.update({name: tuple(v.shape) for name, v in feeds.items()})
    wanted = {name for node in proto.graph.node if node.op_type in CONV_OPS or node.op_type in MATMUL_OPS
              or node.op_type in RNN_GATES or node.op_type in ("Gemm", "ConvTranspose")
              for name in [*node.input, *node.output] if name}
    known_outputs = {o.name for o in proto.graph.output}
    extra = [name for node in proto.graph.node for name in node.output
             if name in wanted and name not in shapes and name not in known_outputs]
    proto.graph.output.extend([onnx.ValueInfoProto(name=name) for name in extra])
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    for name, value in zip(names, session.run(names, feeds)):
        shapes[name] = tuple(np.shape(value))
    return shapes, proto


def _node_macs(node, shapes: dict[str, tuple[int, ...]]) -> int:
    op = node.op_type

    def shape(i: int) -> tuple[int, ...] | None:
        return shapes.get(node.input[i]) if i < len(node.input) and node.input[i] else None

    out = shapes.get(node.output[0]) if node.output else None
    if op in CONV_OPS:
        w = shape(CONV_OPS[op][1])  # (out channels, in channels / group, *kernel)
        if out is None or w is None:
            return 0
        return int(np.prod(out)) * int(w[1]) * int(np.prod(w[2:]))
    if op == "ConvTranspose":
        x, w = shape(0), shape(1)
        if x is None or w is None:
            return 0
        return int(np.prod(x)) * int(w[1]) * int(np.prod(w[2:]))
    if op in MATMUL_OPS:
        a = shape(MATMUL_OPS[op][0])
        if out is None or a is None:
            return 0
        return int(np.prod(out)) * int(a[-1])
    if op == "Gemm":
        a, b = shape(0), shape(1)
        if a is None or b is None:
            return 0
        trans_a = next((x.i for x in node.attribute if x.name == "transA"), 0)
        trans_b = next((x.i for x in node.attribute if x.name == "transB"), 0)
        m, k = (a[1], a[0]) if trans_a else (a[0], a[1])
        n = b[0] if trans_b else b[1]
        return int(m) * int(n) * int(k)
    if op in RNN_GATES:
        x, w, r = shape(0), shape(1), shape(2)
        if x is None or w is None or r is None:
            return 0
        steps, batch = x[0], x[1]  # layout 0: (T, B, I)
        if any(a.name == "layout" and a.i == 1 for a in node.attribute):
            steps, batch = x[1], x[0]
        directions, gates_hidden, inputs = w
        hidden = r[2]
        return int(steps) * int(batch) * int(directions) * int(gates_hidden) * (int(inputs) + int(hidden))
    return 0


def count_graph_macs(path: str | Path, feeds: dict[str, np.ndarray]) -> int:
    """MACs of one run of the ONNX file at `path` on `feeds` (batch 1 gives MACs per inference)."""
    shapes, proto = _observed_shapes(path, feeds)
    return int(sum(_node_macs(node, shapes) for node in proto.graph.node))
