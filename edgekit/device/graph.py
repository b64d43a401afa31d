"""The INT8 ONNX file as ONNX Runtime runs it: static shapes, ORT's own fusions, constants folded.

The reference for the device model is the onnxruntime CPU session edgekit uses everywhere
(`make_session`: default optimisation level). Which Q/DQ patterns become integer kernels
(QLinearConv, QLinearAdd, QLinearMul, QLinearSigmoid, QLinearConcat...) and which stay in float is
ORT's decision, so this module lets ORT make it: the file is given static shapes (batch 1, the
window length), optimised by ORT at the EXTENDED level (the fusions, without the layout
transformer of the ALL level, which only adds transposes around the same kernels) and the
optimised graph is read back. Nodes whose inputs are all constants are evaluated by ORT itself,
so every constant the C code holds is what the session computes. Layout: `(1, T, C)` in, `(1, C, T)`
inside the conv stack.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from edgekit.errors import EdgekitError

MS_DOMAIN = "com.microsoft"
OPSETS = [helper.make_opsetid("", 18), helper.make_opsetid(MS_DOMAIN, 1)]


class DeviceExportError(EdgekitError):
    """The model holds something the device code generator cannot compile exactly."""


@dataclass
class Node:
    op: str
    inputs: list[str]
    outputs: list[str]
    attrs: dict
    domain: str = ""

    def describe(self) -> str:
        return f"{self.op}({', '.join(self.inputs)}) -> {', '.join(self.outputs)}"


@dataclass
class Graph:
    """ORT's optimised graph: nodes in execution order, constants, value shapes and dtypes."""

    nodes: list[Node]
    constants: dict[str, np.ndarray]
    shapes: dict[str, tuple[int, ...]]
    dtypes: dict[str, np.dtype]
    inputs: list[str]
    outputs: list[str]
    consumers: dict[str, list[Node]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.reindex()

    def reindex(self) -> None:
        self.consumers = {}
        for node in self.nodes:
            for name in node.inputs:
                if name:
                    self.consumers.setdefault(name, []).append(node)

    def producer(self, name: str) -> Node | None:
        return next((n for n in self.nodes if name in n.outputs), None)

    def is_const(self, name: str) -> bool:
        return name in self.constants

    def scalar(self, name: str) -> float | int:
        value = self.constants[name]
        if value.size != 1:
            raise DeviceExportError(f"{name}: expected a per-tensor scalar, got shape {value.shape}")
        return value.reshape(()).item()


def ort_session(model: onnx.ModelProto | bytes | str, level: str = "extended", optimized_path: str | None = None):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    options.graph_optimization_level = {"disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
                                        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
                                        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL}[level]
    if optimized_path:
        options.optimized_model_filepath = optimized_path
    source = model.SerializeToString() if isinstance(model, onnx.ModelProto) else model
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def static_model(path: str | Path, length: int | None) -> onnx.ModelProto:
    """The file with batch 1 and (window models) `length` time steps on every input and output."""
    model = onnx.load(str(path))
    for value in list(model.graph.input) + list(model.graph.output):
        dims = value.type.tensor_type.shape.dim
        if dims:
            dims[0].ClearField("dim_param")
            dims[0].dim_value = 1
        if length is not None and len(dims) == 3 and value in model.graph.input:
            dims[1].ClearField("dim_param")
            dims[1].dim_value = length
    for value in model.graph.output:
        for dim in value.type.tensor_type.shape.dim[1:]:
            if not dim.dim_value:
                dim.ClearField("dim_param")  # left to shape inference
    del model.graph.value_info[:]
    return model


def optimize(path: str | Path, length: int | None) -> onnx.ModelProto:
    """ORT's optimised graph of the static-shape file, with inferred shapes on every value."""
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "optimized.onnx")
        try:
            ort_session(static_model(path, length), "extended", out)
        except Exception as exc:  # ORT's exceptions share no public base
            raise DeviceExportError(f"{path}: onnxruntime cannot optimise it ({str(exc).splitlines()[0]})") from None
        model = onnx.load(out)
    return onnx.shape_inference.infer_shapes(model, strict_mode=False)


def _value_types(model: onnx.ModelProto) -> tuple[dict, dict]:
    shapes, dtypes = {}, {}
    for value in list(model.graph.value_info) + list(model.graph.input) + list(model.graph.output):
        t = value.type.tensor_type
        if t.elem_type:
            dtypes[value.name] = helper.tensor_dtype_to_np_dtype(t.elem_type)
        if t.HasField("shape") and all(d.dim_value > 0 or d.HasField("dim_value") for d in t.shape.dim):
            shapes[value.name] = tuple(int(d.dim_value) for d in t.shape.dim)
    return shapes, dtypes


def nodes_session(nodes: list[Node], feeds: dict[str, tuple[tuple[int, ...], np.dtype]],
                  constants: dict[str, np.ndarray], outputs: list[str], dtypes: dict[str, np.dtype]):
    """An ORT session over `nodes` alone (no further optimisation): the kernels the full session
    runs. `feeds` names each input's (shape, dtype)."""
    used = {n for node in nodes for n in node.inputs if n}
    inits = [numpy_helper.from_array(np.asarray(constants[n]), n) for n in sorted(used) if n in constants]
    graph = helper.make_graph(
        [helper.make_node(n.op, n.inputs, n.outputs, domain=n.domain, **n.attrs) for n in nodes], "part",
        [helper.make_tensor_value_info(k, helper.np_dtype_to_tensor_dtype(np.dtype(d)), s)
         for k, (s, d) in feeds.items()],
        [helper.make_tensor_value_info(o, helper.np_dtype_to_tensor_dtype(np.dtype(dtypes.get(o, np.float32))), None)
         for o in outputs], inits)
    return ort_session(helper.make_model(graph, opset_imports=OPSETS), "disable")


def run_nodes(nodes: list[Node], feeds: dict[str, np.ndarray], constants: dict[str, np.ndarray],
              outputs: list[str], dtypes: dict[str, np.dtype]) -> list[np.ndarray]:
    """Evaluate `nodes` once with ORT."""
    session = nodes_session(nodes, {k: (v.shape, v.dtype) for k, v in feeds.items()}, constants, outputs, dtypes)
    return session.run(outputs, feeds)


def _infer_dtype(node: Node, dtypes: dict[str, np.dtype]) -> np.dtype:
    """Output dtype by op rule (onnx's shape inference does not know ORT's com.microsoft ops)."""
    if node.op == "QuantizeLinear":
        return dtypes.get(node.inputs[2], np.dtype(np.uint8)) if len(node.inputs) > 2 else np.dtype(np.uint8)
    if node.op == "DequantizeLinear":
        return np.dtype(np.float32)
    if node.op in ("Shape", "Size"):
        return np.dtype(np.int64)
    if node.op in ("IsNaN", "IsInf", "Equal", "Less", "Greater", "Not", "And", "Or"):
        return np.dtype(bool)
    if node.op == "QLinearConcat":
        return dtypes[node.inputs[2]]
    if node.op == "Where":
        return dtypes[node.inputs[1]]
    if node.op == "ConstantOfShape":
        value = node.attrs.get("value")
        return numpy_helper.to_array(value).dtype if value is not None else np.dtype(np.float32)
    return dtypes[node.inputs[0]]


def load_graph(path: str | Path, length: int | None) -> Graph:
    """The optimised graph of an INT8 QDQ file with all-constant nodes folded by ORT, and the
    shape and dtype of every value (from one ORT run on zeros that returns them all)."""
    model = optimize(path, length)
    constants = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    shapes, dtypes = _value_types(model)
    for name, value in constants.items():
        shapes[name], dtypes[name] = tuple(value.shape), value.dtype
    nodes = []
    for proto in model.graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in proto.attribute}
        node = Node(proto.op_type, list(proto.input), list(proto.output), attrs, proto.domain)
        for name in node.outputs:
            dtypes.setdefault(name, _infer_dtype(node, dtypes))
        if node.inputs and all(not n or n in constants for n in node.inputs):
            for name, value in zip(node.outputs, run_nodes([node], {}, constants, node.outputs, dtypes)):
                constants[name] = np.asarray(value)
                shapes[name], dtypes[name] = tuple(constants[name].shape), constants[name].dtype
            continue
        nodes.append(node)
    inputs = [i.name for i in model.graph.input if i.name not in constants]
    feeds = {i.name: np.zeros([d.dim_value for d in i.type.tensor_type.shape.dim],
                              helper.tensor_dtype_to_np_dtype(i.type.tensor_type.elem_type))
             for i in model.graph.input if i.name in inputs}
    values = [n for node in nodes for n in node.outputs if n]
    for name, value in zip(values, run_nodes(nodes, feeds, constants, values, dtypes)):
        shapes[name], dtypes[name] = tuple(np.shape(value)), np.asarray(value).dtype
    return Graph(nodes, constants, shapes, dtypes, inputs, [o.name for o in model.graph.output])
