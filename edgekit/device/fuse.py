"""Program-level rewrites that keep every output bit and cut the step model's work.

`fuse_dq_binary_q`: Dequantize → float Add/Sub/Mul/Div → Quantize (the running mean of the
causal SE and head: sum / count) as one pass over the codes, the same float operations in order.

`fuse_state_rings`: ONNX streams a causal depthwise conv as Concat(state, x) → Conv → Slice(1:)
→ next state, which copies the whole state twice per sample. On the device the state becomes a
ring of the last (kernel - 1) * dilation + 1 samples per channel with a write position: the new
sample goes in, the taps read back from it (`ops.DwRing`, `ek_k_dwconv_ring`). The integer sums
are the same, so the outputs are too; the state's bytes become the ring's.
"""

from __future__ import annotations

from edgekit.device import ops
from edgekit.device.ops import Program

MAX_RING_KERNEL = 32  # EK_RING_MAX_KERNEL


def _readers(program: Program) -> dict[str, list[ops.Op]]:
    found: dict[str, list[ops.Op]] = {}
    for op in program.ops:
        for name in op.inputs:
            found.setdefault(name, []).append(op)
    return found


def fuse_state_rings(program: Program) -> int:
    """Rewrite each (Concat, depthwise Conv, Slice) state triple into one DwRing; returns how many."""
    readers, fused = _readers(program), 0
    for s in program.states:
        cats = readers.get(s.value, [])
        if s.remap is not None or len(cats) != 1 or not isinstance(cats[0], ops.Concat):
            continue
        cat = cats[0]
        if len(cat.inputs) != 2 or cat.inputs[0] != s.value or cat.tables[0] is not None or cat.cols[1] != 1:
            continue
        channels, context = cat.rows, cat.cols[0]
        users = readers.get(cat.output, [])
        conv = next((u for u in users if isinstance(u, ops.Conv)), None)
        cut = next((u for u in users if isinstance(u, ops.Gather2D)), None)
        if len(users) != 2 or conv is None or cut is None or cut.output != s.source:
            continue
        if not (conv.depthwise and conv.c_out == channels and conv.t_in == context + 1 and conv.t_out == 1
                and conv.stride == 1 and (conv.kernel - 1) * conv.dilation == context
                and conv.kernel <= MAX_RING_KERNEL):
            continue
        if (cut.offset, cut.rows, cut.cols, cut.rs, cut.cs) != (1, channels, context, context + 1, 1):
            continue
        ring = ops.DwRing([cat.inputs[1]], conv.output, f"{cat.source}; {conv.source}; {cut.source}", state=s.index,
                          weights=conv.weights, bias=conv.bias, scale=conv.scale, channels=channels,
                          kernel=conv.kernel, dilation=conv.dilation, y_zero_point=conv.y_zero_point,
                          table=cat.tables[1])
        program.ops[:] = [ring if op is conv else op for op in program.ops if op is not cat and op is not cut]
        s.ring_length = context + 1
        fused += 1
    return fused


def fuse_dq_binary_q(program: Program) -> int:
    readers, fused = _readers(program), 0
    producer = {op.output: op for op in program.ops}
    for q in [op for op in program.ops if isinstance(op, ops.Quantize)]:
        f = producer.get(q.inputs[0])
        if not isinstance(f, ops.FloatBinary) or f.rows != 1 or f.strides[1] != 1 \
                or len(readers.get(f.output, [])) != 1:
            continue
        d = producer.get(f.inputs[0])
        if not isinstance(d, ops.Dequantize) or len(readers.get(d.output, [])) != 1 or f.inputs[1] == d.output:
            continue
        fusedop = ops.DqBinaryQ([d.inputs[0], f.inputs[1]], q.output, f"{d.source}; {f.source}; {q.source}", op=f.op,
                                a_scale=d.scale, a_zero_point=d.zero_point, b_step=f.strides[3], y_scale=q.scale,
                                y_zero_point=q.zero_point)
        program.ops[:] = [fusedop if op is q else op for op in program.ops if op is not d and op is not f]
        fused += 1
    return fused
