"""Op census of an ONNX graph: how many compute nodes run in integer arithmetic, how many in float.

Q/DQ nodes (`QuantizeLinear`, `DequantizeLinear`) are counted apart: they convert, not compute.
Two rules, for the two graphs there are:

- `graph_census` (the QDQ file as written): a node is *integer* when it is an explicit integer
  op (`QLinear*`, `ConvInteger`, `MatMulInteger`, `QGemm`, ...) or when every data input comes
  from a `DequantizeLinear` and every output feeds only `QuantizeLinear` nodes — a DQ → op → Q
  group that a provider may fuse into one integer kernel. Everything else is *float*.
- `runtime_census` (the graph onnxruntime actually runs, after its graph optimizations): a node
  is *integer* when it is an explicit integer kernel, or when every data input is the output of
  an integer kernel or a `QuantizeLinear` (an op that moves quantized tensors, e.g. a Transpose
  the optimizer moved past the Q/DQ pair). A DQ → op → Q group left unfused runs in float between
  a dequantize and a quantize, so here it counts as *float*. This is the number to trust for a
  given provider; the first is the upper bound a provider with more integer kernels could reach.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

import onnx

QDQ_OPS = frozenset({"QuantizeLinear", "DequantizeLinear"})
INTEGER_OPS = frozenset({"ConvInteger", "MatMulInteger", "DynamicQuantizeLinear", "DynamicQuantizeMatMul",
                         "MatMulIntegerToFloat", "QGemm", "QAttention", "DynamicQuantizeLSTM"})
# ops whose inputs beyond the first are shapes, indices or axes rather than data
_DATA_INPUTS = {"Reshape": 1, "Slice": 1, "Pad": 1, "Unsqueeze": 1, "Squeeze": 1, "Expand": 1, "Gather": 1,
                "Resize": 1, "Split": 1, "Tile": 1, "ReduceMean": 1, "ReduceMax": 1, "ReduceSum": 1}


def is_integer_kernel(op_type: str) -> bool:
    return op_type.startswith("QLinear") or op_type in INTEGER_OPS


def _load(model: onnx.ModelProto | str | Path) -> onnx.ModelProto:
    return model if isinstance(model, onnx.ModelProto) else onnx.load(str(model), load_external_data=False)


def _census(graph: onnx.GraphProto, runtime: bool) -> dict:
    producer = {out: node for node in graph.node for out in node.output}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    graph_outputs = {o.name for o in graph.output}

    def made_by(name: str, accept) -> bool:
        node = producer.get(name)
        return node is not None and accept(node.op_type)

    integer, floating, qdq = Counter(), Counter(), 0
    for node in graph.node:
        if node.op_type in QDQ_OPS:
            qdq += 1
            continue
        data = [n for n in node.input[: _DATA_INPUTS.get(node.op_type, len(node.input))] if n]
        if is_integer_kernel(node.op_type):
            is_int = True
        elif runtime:
            is_int = bool(data) and all(made_by(n, lambda op: is_integer_kernel(op) or op == "QuantizeLinear")
                                        for n in data)
        else:
            outputs = [o for o in node.output if o]
            is_int = (bool(data) and all(made_by(n, lambda op: op == "DequantizeLinear") for n in data)
                      and bool(outputs)
                      and all(o not in graph_outputs and consumers.get(o)
                              and all(c.op_type == "QuantizeLinear" for c in consumers[o]) for o in outputs))
        (integer if is_int else floating)[node.op_type] += 1
    return {"integer": sum(integer.values()), "float": sum(floating.values()), "qdq": qdq,
            "integer_ops": dict(sorted(integer.items())), "float_ops": dict(sorted(floating.items()))}


def graph_census(model: onnx.ModelProto | str | Path) -> dict:
    """`{"integer", "float", "qdq", "integer_ops": {op: n}, "float_ops": {op: n}}` of the file as written."""
    return _census(_load(model).graph, runtime=False)


def runtime_census(path: str | Path, providers: tuple[str, ...] = ("CPUExecutionProvider",)) -> dict:
    """The census of the graph onnxruntime runs after its extended graph optimizations."""
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as tmp:
        optimized = Path(tmp) / "optimized.onnx"
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        options.optimized_model_filepath = str(optimized)
        options.intra_op_num_threads = 1
        options.log_severity_level = 3
        ort.InferenceSession(str(path), options, providers=list(providers))
        return _census(onnx.load(str(optimized)).graph, runtime=True)
