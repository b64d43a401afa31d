"""Hand-made QDQ graphs compiled by the device code generator (no edgekit metadata needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from edgekit.device.codegen import generate
from edgekit.device.graph import load_graph
from edgekit.device.host import HostModel, build_shared
from edgekit.device.lower import lower
from edgekit.device.package import MODEL_FILES
from edgekit.device.plan import plan_memory, schedule
from edgekit.resources import bridge_dir


def qdq_model(nodes, inits: dict, shape, out_shape) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("features", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, out_shape)],
                              [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


def qparams(prefix: str, scale: float, zero_point: int) -> dict:
    return {f"{prefix}_s": np.float32(scale), f"{prefix}_z": np.uint8(zero_point)}


def q(x: str, y: str, p: str):
    return helper.make_node("QuantizeLinear", [x, f"{p}_s", f"{p}_z"], [y])


def dq(x: str, y: str, p: str):
    return helper.make_node("DequantizeLinear", [x, f"{p}_s", f"{p}_z"], [y])


def compile_and_load(model: onnx.ModelProto, out: Path, n_outputs: int):
    """(program, HostModel) of a window graph `features -> logits`."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "graph.onnx"
    onnx.save(model, str(path))
    program = lower(load_graph(path, None), "window", [], "features", "logits")
    schedule(program)
    plan = plan_memory(program)
    header, source, _ = generate(program, plan, "g", spec_hash="0" * 16, n_inputs=1, n_classes=n_outputs, window=1)
    (out / "ek_model_g.h").write_text(header)
    (out / "ek_model_g.c").write_text(source)
    for name in MODEL_FILES:
        (out / "model").mkdir(exist_ok=True)
        (out / "model" / name).write_bytes((bridge_dir() / "model" / name).read_bytes())
    (out / "include").mkdir(exist_ok=True)
    (out / "include" / "edgekit_bridge.h").write_bytes((bridge_dir() / "include" / "edgekit_bridge.h").read_bytes())
    lib = build_shared(out, "g", out / "build")
    return program, HostModel(lib, "g", 1, n_outputs, plan.arena_bytes, plan.state_bytes)
