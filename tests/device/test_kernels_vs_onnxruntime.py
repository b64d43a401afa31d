"""Kernel by kernel against ONNX Runtime on hand-made QDQ graphs: QLinearAdd / QLinearMul in every
broadcast shape ORT splits into different MLAS calls (same shape, a scalar per row, a one-element
span), a float GELU chain between Q/DQ compiled to one exact table, and the clear error for what
ORT leaves in float."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import helper

from edgekit.device import ops
from edgekit.device.graph import DeviceExportError, ort_session
from edgekit.device.plan import plan_memory
from tests.tools import require_tool

from graph_helpers import compile_and_load, dq, q, qdq_model, qparams


def _ort(model, x):
    return ort_session(model, "all").run(None, {"features": x})[0]


@pytest.mark.parametrize("op", ["Add", "Mul"])
@pytest.mark.parametrize("shape,b_time", [((1, 3, 37), 37), ((1, 3, 37), 1), ((1, 1, 1), 1), ((1, 4, 1), 1)])
def test_qlinear_binary_equals_onnxruntime(tmp_path, op, shape, b_time):
    """b is a (1, C, b_time) slice of a: the same shape, a scalar per row, or a one-element tensor."""
    require_tool("gcc")
    c, t = shape[1], shape[2]
    starts, ends = np.array([t - b_time], np.int64), np.array([t], np.int64)
    inits = {**qparams("a", 0.031, 131), **qparams("b", 0.047, 97), **qparams("c", 0.09 if op == "Add" else 0.0021, 11),
             "st": starts, "en": ends, "ax": np.array([2], np.int64)}
    nodes = [q("features", "aq", "a"), dq("aq", "af", "a"),
             helper.make_node("Slice", ["features", "st", "en", "ax"], ["bs"]), q("bs", "bq", "b"), dq("bq", "bf", "b"),
             helper.make_node(op, ["af", "bf"], ["cf"]), q("cf", "cq", "c"), dq("cq", "logits", "c")]
    model = qdq_model(nodes, inits, list(shape), list(shape))
    program, host = compile_and_load(model, tmp_path, c * t)
    assert any(isinstance(o, ops.QBinary) for o in program.ops)  # ORT fused it: the integer kernel runs
    rng = np.random.default_rng(0)
    for _ in range(20):
        x = (rng.standard_normal(shape) * 4).astype(np.float32)
        np.testing.assert_array_equal(host.run(x), _ort(model, x).reshape(-1))


def test_gelu_between_q_and_dq_is_one_exact_table(tmp_path):
    """Erf-GELU stays float in ORT's graph; as a function of one 8-bit code it becomes a table filled
    by ORT itself, so every code maps as in the session."""
    require_tool("gcc")
    inits = {**qparams("a", 0.05, 128), **qparams("c", 0.02, 10), "half": np.float32(0.5), "one": np.float32(1.0),
             "rsqrt2": np.float32(0.70710677)}
    nodes = [q("features", "aq", "a"), dq("aq", "af", "a"), helper.make_node("Mul", ["af", "rsqrt2"], ["u"]),
             helper.make_node("Erf", ["u"], ["e"]), helper.make_node("Add", ["e", "one"], ["e1"]),
             helper.make_node("Mul", ["af", "e1"], ["g"]), helper.make_node("Mul", ["g", "half"], ["cf"]),
             q("cf", "cq", "c"), dq("cq", "logits", "c")]
    model = qdq_model(nodes, inits, [1, 1, 256], [1, 1, 256])
    program, host = compile_and_load(model, tmp_path, 256)
    assert [type(o).__name__ for o in program.ops].count("Lut") == 1
    x = ((np.arange(256, dtype=np.float32) - 128) * 0.05).reshape(1, 1, 256)  # every input code once
    np.testing.assert_array_equal(host.run(x), _ort(model, x).reshape(-1))


@pytest.mark.parametrize("op", ["LayerNormalization", "ReduceMean"])
def test_float_ops_are_refused_naming_the_node(tmp_path, op):
    inits = {**qparams("a", 0.05, 128), **qparams("c", 0.02, 10), "gamma": np.ones(8, np.float32),
             "beta": np.zeros(8, np.float32), "axes": np.array([2], np.int64)}
    if op == "LayerNormalization":
        node = helper.make_node("LayerNormalization", ["af", "gamma", "beta"], ["cf"], axis=-1)
    else:
        node = helper.make_node("ReduceMean", ["af", "axes"], ["cf"], keepdims=0)  # kept axes have a kernel
    out = [1, 3, 8] if op == "LayerNormalization" else [1, 3]
    nodes = [q("features", "aq", "a"), dq("aq", "af", "a"), node, q("cf", "cq", "c"), dq("cq", "logits", "c")]
    model = qdq_model(nodes, inits, [1, 3, 8], out)
    with pytest.raises(DeviceExportError, match=rf"node {op}\(.*stays in float.*device-friendly"):
        compile_and_load(model, tmp_path, int(np.prod(out)))


def test_memory_plan_never_overlaps_live_values(tiny_export):
    from edgekit.device.package import compile_model

    compiled = compile_model(tiny_export.step_int8)
    plan, program = compiled.plan, compiled.program
    arena = [(n, p.offset, program.values[n].nbytes, plan.lifetimes[n]) for n, p in plan.places.items()
             if p.region == "arena" and n in plan.lifetimes]
    for i, (a, oa, sa, (fa, la)) in enumerate(arena):
        assert oa % 4 == 0 and oa + sa <= plan.arena_bytes
        for b, ob, sb, (fb, lb) in arena[i + 1:]:
            if not (la < fb or lb < fa):  # alive together: their bytes must not overlap
                assert oa + sa <= ob or ob + sb <= oa, (a, b)
    assert plan.arena_bytes == max(o + s for _, o, s, _ in arena) or plan.arena_bytes % 4 == 0
    unplanned = plan_memory(program, reuse=False)
    assert unplanned.arena_bytes > plan.arena_bytes  # the plan does reuse bytes
