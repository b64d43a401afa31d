"""ONNX input/output names and dynamic axes, declared once for export, runtime and tests.

Window model: `features (batch, time, channels) float32 [, mask (batch, time) bool]
[, demographics (batch, columns) float32] -> logits (batch, classes)`; a model trained with
per-sequence demographics takes their raw values (normalisation folded in), and its metadata names
the columns under `DEMOGRAPHICS_KEY` (a JSON list, in input order).

Step model (streamable students): `features_t (batch, channels), state_in_0 ..
state_in_{N-1} -> logits_t (batch, classes), state_out_0 .. state_out_{N-1}`, where state i has
shape `(batch, *state_shapes[i])` and `state_out_i` feeds `state_in_i` at the next sample.
"""

from __future__ import annotations

INPUT = "features"
MASK = "mask"
DEMOGRAPHICS = "demographics"
OUTPUT = "logits"
# the metadata_props key naming the demographics input's columns; the exporter writes it beside the
# keys of `edgekit.runtime.metadata`, the runtime reads it to match `--demographics k=v` to columns
DEMOGRAPHICS_KEY = "edgekit.demographics"

BATCH_AXIS = "batch"
TIME_AXIS = "time"

STEP_INPUT = "features_t"
STEP_OUTPUT = "logits_t"
STATE_IN = "state_in_{}"
STATE_OUT = "state_out_{}"


def window_io_names(with_mask: bool = False, with_demographics: bool = False) -> tuple[list[str], list[str]]:
    return [INPUT, *([MASK] if with_mask else []), *([DEMOGRAPHICS] if with_demographics else [])], [OUTPUT]


def window_dynamic_axes(dynamic_batch: bool = True, dynamic_time: bool = True, with_mask: bool = False,
                        with_demographics: bool = False) -> dict[str, dict[int, str]]:
    axes: dict[int, str] = {}
    if dynamic_batch:
        axes[0] = BATCH_AXIS
    if dynamic_time:
        axes[1] = TIME_AXIS
    result = {INPUT: dict(axes), OUTPUT: {0: BATCH_AXIS} if dynamic_batch else {}}
    if with_mask:
        result[MASK] = dict(axes)
    if with_demographics and dynamic_batch:
        result[DEMOGRAPHICS] = {0: BATCH_AXIS}
    return {k: v for k, v in result.items() if v}


def state_names(num_states: int) -> tuple[list[str], list[str]]:
    """Names of the step model's state inputs and outputs, in state-slot order."""
    return [STATE_IN.format(i) for i in range(num_states)], [STATE_OUT.format(i) for i in range(num_states)]
