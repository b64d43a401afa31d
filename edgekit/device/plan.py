"""Memory plan of a device program: one static arena, planned by value lifetime.

Every value lives in one of four places: the caller's input features (`in`), the caller's logits
(`out`), the per-stream state (step models: the quantized recurrent state, kept between calls) or
the arena (scratch, reused by the next call, shareable between streams). Aliases (reshapes)
share their source's bytes. Arena values get offsets by first fit in order of size, two values
sharing bytes only when their lifetimes [defined, last read] do not overlap, so the arena size is
the plan's peak, not a guess. Offsets are 4-byte aligned (floats, and the M4's word loads).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edgekit.device import ops
from edgekit.device.ops import Program

ALIGN = 4


def _aligned(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


@dataclass
class Placement:
    region: str  # "in" | "out" | "state" | "arena"
    offset: int = 0


@dataclass
class MemoryPlan:
    places: dict[str, Placement]
    arena_bytes: int
    state_bytes: int
    state_offsets: list[int] = field(default_factory=list)  # per StateIO, its codes in the state
    lifetimes: dict[str, tuple[int, int]] = field(default_factory=dict)


def storage_roots(program: Program) -> dict[str, str]:
    """value → the value whose bytes it uses (itself unless it is an alias)."""
    root: dict[str, str] = {}
    for op in program.ops:
        if isinstance(op, ops.Alias):
            root[op.output] = root.get(op.inputs[0], op.inputs[0])
    return root


def schedule(program: Program) -> None:
    """Move each data-movement op (slice, gather, reshape) to just after its input is computed, so
    a step model's state slices run right after the concat they read and the concat's bytes are
    free for the rest of the step (ORT lists those slices last)."""
    moved: list[ops.Op] = []
    for op in program.ops:
        if isinstance(op, (ops.Gather2D, ops.Alias)):
            producers = [i for i, o in enumerate(moved) if o.output in op.inputs]
            readers = [i for i, o in enumerate(moved) if op.output in o.inputs]
            at = max(producers, default=-1) + 1
            if not readers:
                moved.insert(at, op)
                continue
        moved.append(op)
    program.ops[:] = moved


def plan_memory(program: Program, reuse: bool = True) -> MemoryPlan:
    """`reuse=False` gives every value its own bytes (for inspecting intermediates)."""
    root = storage_roots(program)
    of = lambda name: root.get(name, name)  # noqa: E731
    places: dict[str, Placement] = {of(program.input): Placement("in"), of(program.output): Placement("out")}
    end = len(program.ops)
    life: dict[str, list[int]] = {}
    for i, op in enumerate(program.ops):
        for name in [*op.inputs, op.output]:
            if name in program.values:
                span = life.setdefault(of(name), [i, i])
                span[0], span[1] = min(span[0], i), max(span[1], i)
    state_offsets, state_bytes = [], 0
    for s in program.states:
        state_offsets.append(state_bytes)
        if s.ring_length:  # (channels, ring_length) codes and a uint32 position, read by its DwRing only
            channels = program.values[s.value].size // (s.ring_length - 1)
            state_bytes += _aligned(channels * s.ring_length) + 4
            continue
        places[of(s.value)] = Placement("state", state_bytes)
        source = of(s.source)
        # a source computed after the last read of its state (and not re-quantized) is written into
        # the state directly: no arena bytes, no copy at the end of the step
        if s.remap is None and reuse and source in life and life[source][0] > life.get(of(s.value), [0, -1])[1] \
                and source not in places:
            places[source] = Placement("state", state_bytes)
            s.in_place = True
        else:
            life.setdefault(source, [end, end])[1] = end  # copied into the state after the last op
        state_bytes += _aligned(program.values[s.value].nbytes)
    sizes = {}
    for name, value in program.values.items():
        sizes[of(name)] = max(sizes.get(of(name), 0), value.nbytes)
    placed: list[tuple[int, int, int, int]] = []  # (offset, size, first, last)
    arena = 0
    for name in sorted((n for n in life if n not in places), key=lambda n: (-sizes[n], life[n][0])):
        first, last = life[name]
        size = _aligned(sizes[name])
        offset, changed = 0, True  # first fit: move past every block it collides with until none
        while changed:
            changed = False
            for o, s, f, la in placed:
                if (reuse is False or not (last < f or la < first)) and offset < o + s and o < offset + size:
                    offset, changed = _aligned(o + s), True
        placed.append((offset, size, first, last))
        places[name] = Placement("arena", offset)
        arena = max(arena, offset + size)
    for name in program.values:
        places[name] = places.get(of(name), Placement("arena", 0))
    return MemoryPlan(places, arena, state_bytes, state_offsets, {k: tuple(v) for k, v in life.items()})
