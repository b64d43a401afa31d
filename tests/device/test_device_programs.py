"""The package's check program: golden vectors under QEMU (the Cortex-M4F build, SMLAD paths and
all) bit for bit; raw samples → bridge → model under QEMU with `edgekit stream`'s class at every
sample; the ASan + UBSan build fuzzed with random, NaN and Inf samples. CI fails, rather than
skips, when a tool is missing (`require_tool`)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgekit.device import qemu
from edgekit.device.check import reference_logits, stream_classes
from edgekit.device.vectors import FUZZ, MODEL, PIPELINE, fuzz_samples, write_vectors
from tests.tools import require_tool


def _m4_tools() -> None:
    for tool in ("cmake", "arm-none-eabi-gcc", "qemu-system-arm"):
        require_tool(tool)


@pytest.fixture(scope="module")
def m4_build(tmp_path_factory):
    return tmp_path_factory.mktemp("m4_build")


def test_golden_vectors_bit_exact_under_qemu(tiny_export, step_package, m4_build, tmp_path):
    _m4_tools()
    sequences = tiny_export.sequences[:3]
    want = reference_logits(tiny_export.step_int8, "step", sequences, 1)
    x = np.concatenate(sequences)
    resets = np.concatenate([np.arange(len(s)) == 0 for s in sequences])
    vectors = write_vectors(tmp_path / "golden.bin", MODEL, x, np.concatenate(want), resets)
    run = qemu.run_check(step_package, m4_build, "cortex-m4", vectors)
    assert run.ok, run.output
    assert run.values["compared"] == len(x) and run.values["mismatches"] == 0
    assert 0 < run.values["instructions_per_model_run"] < 100_000  # the tiny student
    assert 0 < run.values["stack_bytes"] < 4096


def test_pipeline_under_qemu_equals_edgekit_stream(tiny_export, step_package, m4_build, tmp_path):
    _m4_tools()
    raw, resets = tiny_export.raw, tiny_export.raw_resets
    hop = json.loads((step_package / "model.json").read_text())["hop"]
    classes = stream_classes(tiny_export.step_int8, raw, resets, hop)
    assert (classes >= 0).all()  # a step model gives a class at every sample
    vectors = write_vectors(tmp_path / "pipeline.bin", PIPELINE, raw, resets=resets, classes=classes)
    run = qemu.run_check(step_package, m4_build, "cortex-m4", vectors)
    assert run.ok, run.output
    assert run.values["compared"] == len(raw) and run.values["mismatches"] == 0
    assert run.values["instructions_per_bridge_push"] > 0


def test_sanitized_pipeline_survives_fuzzing(tiny_export, step_package, tmp_path):
    """Random values, NaN, +-Inf, huge and denormal inputs and random bit patterns through bridge and
    model: no sanitizer report, no crash, finite logits at every sample."""
    require_tool("cmake")
    require_tool("gcc")
    columns = tiny_export.spec.input_columns()
    n = 600
    resets = np.arange(n) % 200 == 0
    vectors = write_vectors(tmp_path / "fuzz.bin", FUZZ, fuzz_samples(columns, n, seed=7), resets=resets)
    run = qemu.run_check(step_package, tmp_path / "asan", "asan", vectors)
    assert run.ok, run.output
    assert run.values["model_runs"] == n and run.values["nonfinite_logits"] == 0
    assert "runtime error" not in run.output and "AddressSanitizer" not in run.output
