"""The device bench as a markdown table (the CLI prints it; README's device table has its shape)."""

from __future__ import annotations

from edgekit.formatting import format_bytes, markdown_table


def _goal(goals: dict, key: str) -> str:
    g = goals[key]
    return "met" if g["met"] else "missed"


def device_markdown(result: dict) -> str:
    ins, flash, ram = result["instructions"], result["flash"], result["ram"]
    lat, goals = result["latency"], result["goals"]
    per_sample = f"{ins['per_sample']:,.0f}"
    rows = [
        ["instructions per sample (bridge + model)", per_sample, f"≤ {goals['instructions_per_sample']['goal']:,}",
         _goal(goals, "instructions_per_sample")],
        ["  of which model / bridge", f"{ins['model_run'] / result['hop']:,.0f} / {ins['bridge_push']:,.0f}", "", ""],
        [f"< 10 % of a 64 MHz M4F at {result['sample_rate_hz']:g} Hz", per_sample,
         f"≤ {goals['under_10pct_of_64mhz']['goal']:,}", _goal(goals, "under_10pct_of_64mhz")],
        ["model flash (constants + code)", f"{format_bytes(flash['model_flash_bytes'])} "
         f"({format_bytes(flash['model_constants_bytes'])} + {format_bytes(flash['model_code_bytes'])})", "≤ 64 KiB",
         _goal(goals, "model_flash_bytes")],
        ["bridge flash", format_bytes(flash["bridge_flash_bytes"]), "", ""],
        ["RAM incl. bridge", format_bytes(ram["total_bytes"]), "≤ 16 KiB", _goal(goals, "ram_bytes")],
        ["  arena / model state / bridge / stack", " / ".join(format_bytes(ram[k]) for k in (
            "model_arena_bytes", "model_state_bytes", "bridge_workspace_bytes", "stack_bytes")), "", ""],
    ]
    for mhz, row in lat.items():
        rows.append([f"model run at {mhz.replace('mhz', ' MHz')}", f"{row['model_run_ms']:.3f} ms "
                     f"({row['duty_at_sample_rate']:.1%} of the time at {result['sample_rate_hz']:g} Hz)", "", ""])
    host = result.get("host")
    if host:
        speed = f", INT8 {host['int8_speedup_vs_fp32']:.2f}× fp32" if "int8_speedup_vs_fp32" in host else ""
        rows.append(["host onnxruntime p50 (1 thread, batch 1)", f"{host['int8_p50_ms']:.3f} ms{speed}", "", ""])
    title = (f"{result['student']} ({result['kind']} model) on {result['target']}: {result['emulator']}; "
             f"{result['note']}\n\n")
    return title + markdown_table(["", "value", "goal", ""], rows)
