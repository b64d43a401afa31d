"""`edgekit bench MODEL --target cortex-m4`: the student on the emulated Cortex-M4F.

The model is compiled into a package (`package.write_package`), built with arm-none-eabi-gcc and
run under `qemu-system-arm -M mps2-an386 -icount shift=0` on synthetic raw samples through the
bridge (the model's own FeatureSpec), and measured:
- instructions per model run, per bridge push and per sample (bridge + model; a window model's
  run is spread over its hop). Under -icount an instruction takes 1 ns of virtual time; these are
  instruction counts, NOT cycles (flash wait states, multi-cycle VDIV/loads are not modelled), so
  the latencies they imply at 64 / 80 / 160 MHz assume one instruction per cycle;
- flash: the model (weights and other constants; code) and the bridge, by linking probe programs
  with and without each part;
- RAM: the model's arena (the memory plan's peak) and state, the bridge's state and workspace, the
  feature and logit buffers, and the stack high-water mark of the run.
Next to it, the host figures of onnxruntime on the same file (and its fp32 sibling when present).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from edgekit.bridge.toolchain import _symbol_sizes
from edgekit.device import qemu
from edgekit.device.package import write_package
from edgekit.device.vectors import FUZZ, synthetic_samples, write_vectors
from edgekit.errors import EdgekitError
from edgekit.resources import cache_dir
from edgekit.runtime.metadata import KIND_STEP, read_metadata

CLOCKS_MHZ = (64, 80, 160)
GOALS = {  # issue 13, for the default _xs student at 50 Hz
    "instructions_per_sample": 200_000,  # bridge + INT8 step model
    "ram_bytes": 16 * 1024,  # including the bridge
    "model_flash_bytes": 64 * 1024,
}
DUTY_GOAL = 0.10  # < 10 % of a 64 MHz M4F's time at the model's sample rate


def _default_out(model: Path) -> Path:
    digest = hashlib.sha256(model.read_bytes()).hexdigest()[:16]
    return cache_dir("device", digest)


def _host_figures(model: Path, runs: int) -> dict:
    from edgekit.runtime.bench import BenchModel, BenchOptions, bench_models

    models = [BenchModel("int8", model)]
    fp32 = model.with_name(model.name.replace(".int8.", ".fp32."))
    if fp32 != model and fp32.exists():
        models.append(BenchModel("fp32", fp32))
    result = bench_models(models, BenchOptions(runs=runs, warmup=5, max_seconds=3.0))
    rows = {r["label"]: r for r in result["rows"]}
    figures = {f"{label}_p50_ms": rows[label]["latency_ms"]["p50"] for label in rows}
    if "fp32" in rows:
        p50 = {label: rows[label]["latency_ms"]["p50"] for label in rows}
        figures["int8_speedup_vs_fp32"] = round(p50["fp32"] / p50["int8"], 3)
    figures["machine"] = result["machine"]
    return figures


def device_bench(model: str | Path, out_dir: str | Path | None = None, *, samples: int = 96,
                 host_runs: int = 100, host: bool = True) -> dict:
    """Measure `model` (an edgekit INT8 window or step ONNX file) on the emulated Cortex-M4F."""
    model = Path(model)
    if not model.is_file():
        raise EdgekitError(f"{model}: no such model file")
    meta = read_metadata(model)
    out = Path(out_dir) if out_dir is not None else _default_out(model)
    package = out / "package"
    report = write_package(model, package)
    from edgekit.features import FeatureSpec

    spec = FeatureSpec.from_json(meta.feature_spec_json)
    window = int(report["window"])
    n = max(samples, window * 2) if report["kind"] != KIND_STEP else samples
    vectors = write_vectors(out / "bench_vectors.bin", FUZZ, synthetic_samples(spec.input_columns(), n, seed=1),
                            resets=np.arange(n) == 0)
    build_dir = out / "build-cortex-m4"
    run = qemu.run_check(package, build_dir, "cortex-m4", vectors)
    if not run.ok:
        raise EdgekitError(f"the device program failed under QEMU (status {run.status}):\n{run.output[-1500:]}")
    qemu.build(package, build_dir, "cortex-m4", vectors,
               programs=("ek_size_probe_base", "ek_size_probe_bridge", "ek_size_probe_model"))
    flash = qemu.flash_report(build_dir)
    symbols = _symbol_sizes(build_dir / "ek_size_probe_model.elf")
    per_run, per_push = run.values["instructions_per_model_run"], run.values["instructions_per_bridge_push"]
    hop = 1 if report["kind"] == KIND_STEP else int(report["hop"])
    per_sample = per_push + per_run / hop
    rate_hz = 1.0 / meta.sample_period_s if meta.sample_period_s else 50.0
    ram = {"model_arena_bytes": report["arena_bytes"], "model_state_bytes": report["state_bytes"],
           "bridge_state_bytes": symbols.get("bridge", 0),
           "bridge_workspace_bytes": 4 * report["bridge_workspace_words"],
           "io_buffers_bytes": 4 * (report["n_inputs"] * window + report["n_classes"]),
           "stack_bytes": int(run.values["stack_bytes"])}
    ram["total_bytes"] = sum(ram.values())
    latency = {f"{mhz}mhz": {"model_run_ms": round(per_run / (mhz * 1e3), 4),
                             "per_sample_ms": round(per_sample / (mhz * 1e3), 4),
                             "duty_at_sample_rate": round(per_sample * rate_hz / (mhz * 1e6), 4)} for mhz in CLOCKS_MHZ}
    duty_limit = DUTY_GOAL * CLOCKS_MHZ[0] * 1e6 / rate_hz
    goals = {
        "instructions_per_sample": {"goal": GOALS["instructions_per_sample"], "value": round(per_sample),
                                    "met": per_sample <= GOALS["instructions_per_sample"]},
        "under_10pct_of_64mhz": {"goal": round(duty_limit), "value": round(per_sample),
                                 "met": per_sample <= duty_limit},
        "model_flash_bytes": {"goal": GOALS["model_flash_bytes"], "value": flash["model_flash_bytes"],
                              "met": flash["model_flash_bytes"] <= GOALS["model_flash_bytes"]},
        "ram_bytes": {"goal": GOALS["ram_bytes"], "value": ram["total_bytes"],
                      "met": ram["total_bytes"] <= GOALS["ram_bytes"]},
    }
    result = {
        "model": str(model), "student": meta.model, "kind": report["kind"], "target": "cortex-m4",
        "emulator": "qemu-system-arm -M mps2-an386 -icount shift=0",
        "note": "instruction counts, not cycles: latencies assume one instruction per cycle",
        "sample_rate_hz": round(rate_hz, 3), "window": window, "hop": hop, "macs_per_run": report["macs"],
        "instructions": {"model_run": per_run, "bridge_push": per_push, "per_sample": round(per_sample, 1),
                         "per_mac": round(per_run / max(1, report["macs"]), 2)},
        "flash": flash, "ram": ram, "latency": latency, "goals": goals,
        "checked_vectors": int(run.values.get("vectors", 0)), "package": str(package),
    }
    if host:
        result["host"] = _host_figures(model, host_runs)
    (out / "device_bench.json").write_text(json.dumps(result, indent=2))
    return result
