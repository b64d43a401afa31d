"""`edgekit bench --target cortex-m4` and the demo's device step on the tiny student: the device
table's figures are measured (instructions, flash, RAM with the bridge), the goals are judged,
and a left- and a right-handed stream read as `edgekit stream` reads it agree with the host at
every sample under QEMU."""

from __future__ import annotations

import numpy as np
import polars as pl

from edgekit.device.bench import device_bench
from edgekit.device.demo import device_step
from edgekit.device.report import device_markdown
from tests.tools import require_tool


def _m4_tools() -> None:
    for tool in ("cmake", "arm-none-eabi-gcc", "qemu-system-arm"):
        require_tool(tool)


def test_device_bench_measures_and_judges(tiny_export, tmp_path):
    _m4_tools()
    result = device_bench(tiny_export.step_int8, tmp_path, samples=48, host=False)
    ins, flash, ram = result["instructions"], result["flash"], result["ram"]
    assert ins["model_run"] > 0 and ins["bridge_push"] > 0
    assert ins["per_sample"] == round(ins["model_run"] + ins["bridge_push"], 1)
    assert 0 < flash["model_constants_bytes"] < flash["model_flash_bytes"] < 64 * 1024
    assert flash["bridge_flash_bytes"] > 0
    assert ram["total_bytes"] == sum(v for k, v in ram.items() if k != "total_bytes")
    assert ram["model_arena_bytes"] > 0 and ram["bridge_workspace_bytes"] > 0 and ram["stack_bytes"] > 0
    assert set(result["goals"]) == {"instructions_per_sample", "under_10pct_of_64mhz", "model_flash_bytes", "ram_bytes"}
    assert result["goals"]["model_flash_bytes"]["met"] and result["goals"]["ram_bytes"]["met"]  # a tiny student
    assert "not cycles" in result["note"] and set(result["latency"]) == {"64mhz", "80mhz", "160mhz"}
    assert "≤ 64 KiB" in device_markdown(result)


def test_demo_device_step_agrees_with_the_host_stream(tiny_export, tmp_path):
    _m4_tools()
    columns = tiny_export.spec.input_columns()
    raw, resets = tiny_export.raw[:120], tiny_export.raw_resets[:120]
    sequence = np.cumsum(resets)
    table = pl.DataFrame({"sequence_id": [f"s{k}" for k in sequence], "handedness": (sequence % 2).astype(np.int64),
                          **{c: raw[:, i] for i, c in enumerate(columns)}})
    table.write_csv(tmp_path / "stream.csv")
    report = device_step(tiny_export.step_int8, tmp_path / "stream.csv", tmp_path / "device")
    assert report["status"] == 0
    assert report["agreement"]["samples"] == len(raw) == report["agreement"]["same_class"]
    assert report["agreement"]["sequences"] == int(resets.sum())
    assert (tmp_path / "device" / "device.md").exists()
