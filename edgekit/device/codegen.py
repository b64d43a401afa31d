"""C99 source of a device program: `ek_model_<name>.h` (sizes as macros) and `ek_model_<name>.c`
(constants in flash, one forward function calling the kernels of `firmware_bridge/model/` in order,
the state reset). Floats are written as hexadecimal literals, so the C constants are the exact
float32 values ONNX Runtime uses."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

import numpy as np

from edgekit.device import ops
from edgekit.device.ops import F32, Program
from edgekit.device.plan import MemoryPlan

PER_LINE = 16
KIND_MACRO = {"window": "EK_MODEL_WINDOW", "step": "EK_MODEL_STEP"}
FLOAT_OPS = {"add": "EK_F_ADD", "sub": "EK_F_SUB", "mul": "EK_F_MUL", "div": "EK_F_DIV"}


def c_float(v: float) -> str:
    v = float(np.float32(v))
    if math.isinf(v):
        return "INFINITY" if v > 0 else "-INFINITY"
    if math.isnan(v):
        raise ValueError("NaN constant")
    return ("-" if math.copysign(1.0, v) < 0 else "") + float.hex(abs(v)) + "f"


def c_array(ctype: str, name: str, values: np.ndarray, fmt=str) -> str:
    flat = np.asarray(values).reshape(-1)
    rows = [", ".join(fmt(v) for v in flat[i:i + PER_LINE]) for i in range(0, len(flat), PER_LINE)] or ["0"]
    return f"static const {ctype} {name}[{max(1, len(flat))}] = {{\n    " + ",\n    ".join(rows) + "\n};\n"


@dataclass
class Emitter:
    program: Program
    plan: MemoryPlan
    name: str
    decls: list[str] = field(default_factory=list)
    body: list[str] = field(default_factory=list)
    flash: dict[str, int] = field(default_factory=dict)  # bytes of constants by kind
    _tables: dict[bytes, str] = field(default_factory=dict)
    _consts: dict[str, str] = field(default_factory=dict)

    def ptr(self, value: str, write: bool = False) -> str:
        v, place = self.program.values[value], self.plan.places[value]
        if place.region == "in":
            return "in"
        if place.region == "out":
            return "out"
        base = f"{place.region} + {place.offset}u" if place.offset else place.region
        if v.kind == F32:
            return f"(float *)(void *)({base})"
        return base

    def add_const(self, kind: str, ctype: str, name: str, values: np.ndarray, fmt=str) -> str:
        self.decls.append(c_array(ctype, name, values, fmt))
        self.flash[kind] = self.flash.get(kind, 0) + np.asarray(values).size * np.dtype(
            {"int8_t": np.int8, "uint8_t": np.uint8, "int32_t": np.int32, "float": np.float32}[ctype]).itemsize
        return name

    def table(self, values: np.ndarray) -> str:
        key = np.asarray(values, np.uint8).tobytes()
        if key not in self._tables:
            self._tables[key] = self.add_const("tables", "uint8_t", f"table_{len(self._tables)}",
                                               np.frombuffer(key, np.uint8))
        return self._tables[key]

    def float_const(self, name: str) -> str:
        if name not in self._consts:
            ident = f"fconst_{len(self._consts)}"
            self._consts[name] = self.add_const("float_constants", "float", ident, self.program.constants[name],
                                                c_float)
        return self._consts[name]

    def operand(self, name: str) -> str:
        return self.float_const(name) if name in self.program.constants else self.ptr(name)

    def struct(self, ctype: str, ident: str, fields: str) -> str:
        self.decls.append(f"static const {ctype} {ident} = {{{fields}}};\n")
        return ident


def _emit_op(e: Emitter, i: int, op: ops.Op) -> str | None:
    p, size = e.ptr, e.program.values[op.output].size
    x = op.inputs[0] if op.inputs else None
    if isinstance(op, ops.Alias):
        return None
    if isinstance(op, ops.Quantize):
        return f"ek_k_quantize({p(x)}, {p(op.output)}, {size}u, {c_float(op.scale)}, {op.zero_point});"
    if isinstance(op, ops.Dequantize):
        return f"ek_k_dequantize({p(x)}, {p(op.output)}, {size}u, {c_float(op.scale)}, {op.zero_point});"
    if isinstance(op, ops.Lut):
        return f"ek_k_lut({p(x)}, {p(op.output)}, {size}u, {e.table(op.table)});"
    if isinstance(op, ops.Conv):
        row = op.weights.shape[1]
        w = e.add_const("weights", "int8_t", f"conv{i}_w", op.weights)
        b = e.add_const("bias", "int32_t", f"conv{i}_b", op.bias)
        s = e.add_const("scales", "float", f"conv{i}_s", op.scale, c_float)
        e.struct("ek_conv_t", f"conv{i}", f"{op.c_out}, {op.c_in}, {op.kernel}, {op.dilation}, {op.stride}, {op.t_in}, "
                 f"{op.t_out}, {int(op.depthwise)}, {row}, {op.y_zero_point}, {w}, {b}, {s}")
        scratch = f"(uint32_t *)(void *)({e.ptr(op.inputs[1])})" if len(op.inputs) > 1 else "NULL"
        return f"ek_k_conv(&conv{i}, {p(x)}, {p(op.output)}, {scratch});"
    if isinstance(op, ops.DwRing):
        w = e.add_const("weights", "int8_t", f"conv{i}_w", op.weights)
        b = e.add_const("bias", "int32_t", f"conv{i}_b", op.bias)
        s = e.add_const("scales", "float", f"conv{i}_s", op.scale, c_float)
        t = "NULL" if op.table is None else e.table(op.table)
        length = (op.kernel - 1) * op.dilation + 1
        e.struct("ek_dwring_t", f"conv{i}", f"{op.channels}, {op.kernel}, {op.dilation}, {length}, {op.y_zero_point}, "
                 f"{w}, {b}, {s}, {t}")
        ring = e.plan.state_offsets[op.state]
        position = ring + (op.channels * length + 3) // 4 * 4
        return (f"ek_k_dwconv_ring(&conv{i}, {p(x)}, state + {ring}u, (uint32_t *)(void *)(state + {position}u), "
                f"{p(op.output)});")
    if isinstance(op, ops.GlobalAvgPool):
        return (f"ek_k_gap({p(x)}, {p(op.output)}, {op.channels}u, {op.length}u, {op.x_zero_point}, "
                f"{c_float(op.scale)}, {op.y_zero_point});")
    if isinstance(op, ops.QBinary):
        kind = "EK_QBIN_ADD" if op.kind == "add" else "EK_QBIN_MUL"
        e.struct("ek_qbin_t", f"qbin{i}", f"{kind}, {int(op.b_scalar)}, {op.spans}, {op.span}u, {op.a_step}u, "
                 f"{op.b_step}u, {c_float(op.ratio_a)}, {c_float(op.ratio_b)}, {c_float(op.offset)}, "
                 f"{op.a_zero_point}, {op.b_zero_point}")
        return f"ek_k_qbin(&qbin{i}, {p(op.inputs[0])}, {p(op.inputs[1])}, {p(op.output)});"
    if isinstance(op, ops.Concat):
        cols = ", ".join(str(c) for c in op.cols)
        tables = ", ".join("NULL" if t is None else e.table(t) for t in op.tables)
        e.struct("ek_concat_t", f"concat{i}", f"{len(op.inputs)}, {op.rows}, {{{cols}}}, {{{tables}}}")
        parts = ", ".join(p(n) for n in op.inputs)
        return f"{{ const uint8_t *parts[] = {{{parts}}}; ek_k_concat(&concat{i}, parts, {p(op.output)}); }}"
    if isinstance(op, ops.FloatBinary):
        a, b = (e.operand(n) for n in op.inputs)
        return (f"ek_k_fbin({FLOAT_OPS[op.op]}, {a}, {b}, {p(op.output)}, {op.rows}u, {op.cols}u, "
                + ", ".join(f"{s}u" for s in op.strides) + ");")
    if isinstance(op, ops.DqBinaryQ):
        return (f"ek_k_dq_fbin_q({FLOAT_OPS[op.op]}, {p(x)}, {c_float(op.a_scale)}, {op.a_zero_point}, "
                f"{e.operand(op.inputs[1])}, {op.b_step}u, {p(op.output)}, {size}u, {c_float(op.y_scale)}, "
                f"{op.y_zero_point});")
    if isinstance(op, ops.FloatNanTo):
        return (f"ek_k_fnan_to({p(x)}, {e.operand(op.inputs[1])}, {p(op.output)}, {op.rows}u, {op.cols}u, "
                f"{op.fill_strides[0]}u, {op.fill_strides[1]}u);")
    if isinstance(op, ops.FloatCumSum):
        return f"ek_k_fcumsum({p(x)}, {p(op.output)}, {op.rows}u, {op.cols}u);"
    if isinstance(op, ops.FloatMeanAxis):
        return f"ek_k_fmean_axis({p(x)}, {p(op.output)}, {op.outer}u, {op.n}u, {op.inner}u);"
    if isinstance(op, ops.FloatSqrt):
        return f"ek_k_fsqrt({p(x)}, {p(op.output)}, {size}u);"
    if isinstance(op, ops.FloatClip):
        return f"ek_k_fclip({p(x)}, {p(op.output)}, {size}u, {c_float(op.low)}, {c_float(op.high)});"
    if isinstance(op, ops.FloatAffine):
        return (f"ek_k_faffine({p(x)}, {e.operand(op.inputs[1])}, {e.operand(op.inputs[2])}, {p(op.output)}, "
                f"{op.rows}u, {op.cols}u);")
    if isinstance(op, ops.Gather2D):
        elem = 4 if e.program.values[op.output].kind == F32 else 1
        return (f"ek_k_gather2d({p(x)}, {p(op.output)}, {elem}u, {op.rows}u, {op.cols}u, {op.offset}u, {op.rs}u, "
                f"{op.cs}u);")
    if isinstance(op, ops.PadCols):
        return (f"ek_k_pad_cols({p(x)}, {p(op.output)}, {op.rows}u, {op.cols}u, {op.left}u, {op.right}u, "
                f"{op.value});")
    raise TypeError(f"no C for {type(op).__name__}")


def _comment(text: str) -> str:
    return "/* " + text.replace("*/", "* /")[:160] + " */"


def generate(program: Program, plan: MemoryPlan, name: str, *, spec_hash: str, n_inputs: int, n_classes: int,
             window: int, class_names: tuple[str, ...] = ()) -> tuple[str, str, dict]:
    """(header text, source text, flash bytes of the constants by kind)."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ValueError(f"model name {name!r}: expected a lowercase C identifier")
    e = Emitter(program, plan, name)
    for i, op in enumerate(program.ops):
        line = _emit_op(e, i, op)
        if line is not None:
            e.body.append(f"    {_comment(f'{i}: {op.source}')}\n    {line}\n    EK_MODEL_OP_DONE({i});")
    for s, offset in zip(program.states, plan.state_offsets):
        n = program.values[s.value].nbytes if s.remap is None else program.values[s.value].size
        src = e.ptr(s.source)
        if s.in_place or s.ring_length:
            continue
        if s.remap is None:
            e.body.append(f"    memcpy(state + {offset}u, {src}, {n}u); {_comment(f'state {s.index}')}")
        else:
            e.body.append(f"    ek_k_lut({src}, state + {offset}u, {n}u, {e.table(s.remap)}); "
                          f"{_comment(f'state {s.index}: Q_in(DQ_out(code))')}")
    resets = []
    for s, o in zip(program.states, plan.state_offsets):
        if s.ring_length:
            channels = program.values[s.value].size // (s.ring_length - 1)
            ring = channels * s.ring_length
            resets += [f"    memset(state + {o}u, {s.reset_code}, {ring}u);",
                       f"    memset(state + {o + (ring + 3) // 4 * 4}u, 0, 4u); /* ring position */"]
        else:
            resets.append(f"    memset(state + {o}u, {s.reset_code}, {program.values[s.value].nbytes}u);")
    resets = resets or ["    (void)state;"]
    upper = name.upper()
    unused = "" if program.states else "    (void)state;\n"
    source = (f"/* Generated by edgekit (edgekit.device.codegen) from the INT8 ONNX model; do not edit. */\n"
              f'#include "ek_model_{name}.h"\n#include "ek_kernels.h"\n\n#include <math.h>\n#include <stddef.h>\n'
              "#include <string.h>\n\n"
              "/* a profiling build (EK_MODEL_PROFILE) times each op (edgekit.device.bench) */\n"
              f"#ifdef EK_MODEL_PROFILE\nvoid ek_model_profile_op(unsigned op);\n#define EK_MODEL_OP_DONE(op) "
              f"ek_model_profile_op(op)\n#else\n#define EK_MODEL_OP_DONE(op) ((void)0)\n#endif\n\n" + "".join(e.decls) +
              f"\nstatic void forward(const float *in, float *out, uint8_t *arena, uint8_t *state)\n{{\n{unused}"
              + "\n".join(e.body) + "\n}\n\nstatic void reset(uint8_t *state)\n{\n" + "\n".join(resets) + "\n}\n\n"
              f"const ek_model_def_t ek_model_{name} = {{\n    EK_MODEL_ABI_VERSION, {KIND_MACRO[program.kind]}, "
              f"{n_inputs}u, {n_classes}u, {window}u,\n    EK_MODEL_{upper}_ARENA_BYTES, EK_MODEL_{upper}_STATE_BYTES, "
              f'"{spec_hash}", forward, reset,\n}};\n')
    header = (f"/* Generated by edgekit: the INT8 {program.kind} model `{name}` (see ek_model.h); do not edit. */\n"
              f"#ifndef EK_MODEL_{upper}_H\n#define EK_MODEL_{upper}_H\n\n#include \"ek_model.h\"\n\n"
              f"#define EK_MODEL_{upper}_N_INPUTS {n_inputs}u\n#define EK_MODEL_{upper}_N_CLASSES {n_classes}u\n"
              f"#define EK_MODEL_{upper}_WINDOW {window}u\n"
              f"#define EK_MODEL_{upper}_ARENA_BYTES {plan.arena_bytes}u\n"
              f"#define EK_MODEL_{upper}_ARENA_WORDS {(plan.arena_bytes + 3) // 4}u\n"
              f"#define EK_MODEL_{upper}_STATE_BYTES {plan.state_bytes}u\n"
              f"#define EK_MODEL_{upper}_STATE_WORDS {max(1, (plan.state_bytes + 3) // 4)}u\n"
              f"#define EK_MODEL_{upper}_MACS {program.macs}u /* multiply-accumulates per "
              f"{'sample' if program.kind == 'step' else 'window'} */\n"
              f'#define EK_MODEL_{upper}_HASH "{spec_hash}"\n\n'
              f"#ifdef __cplusplus\nextern \"C\" {{\n#endif\n\nextern const ek_model_def_t ek_model_{name};\n\n"
              f"/* The class of each logit. */\n#define EK_MODEL_{upper}_CLASS_NAMES {{ \\\n"
              + "".join(f"    {json.dumps(c)}, \\\n" for c in class_names) + "}\n\n"
              "#ifdef __cplusplus\n}\n#endif\n\n#endif\n")
    return header, source, dict(e.flash)
