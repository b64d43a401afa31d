"""`edgekit bridge build|golden|size`: the C99 feature bridge."""

from __future__ import annotations

from pathlib import Path

import click

from edgekit.cli.render import emit_json, table


@click.group()
def bridge() -> None:
    """Build the C feature bridge, write its golden vectors, report its Cortex-M4F footprint."""


@bridge.command()
@click.option("--target", type=click.Choice(["host", "cortex-m4"]), default="host", show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("build"), show_default=True,
              help="Build directory (bridge-host/ or bridge-m4/ inside it).")
@click.option("--run", is_flag=True, help="Also run the golden-vector test (under QEMU for cortex-m4).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def build(target: str, out: Path, run: bool, as_json: bool) -> None:
    """Build the library (and the Python extension for host) plus the golden-vector test."""
    from edgekit.bridge.toolchain import build_target

    report = build_target(target, out, run=run)
    if as_json:
        emit_json(report)
    else:
        table(f"bridge build ({target})", ["", "value"],
              [[k, "\n".join(v) if isinstance(v, list) else v] for k, v in report.items()])
    if run and report.get("golden_exit_status", 0) != 0:
        raise SystemExit(1)


@bridge.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory for the vectors (default: firmware_bridge/golden, which is committed).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def golden(out: Path | None, as_json: bool) -> None:
    """Write the golden input/output vectors and config headers from the Python reference."""
    from edgekit.bridge.golden import GOLDEN_DIR, write_golden

    paths = write_golden(out or GOLDEN_DIR)
    rows = [[str(p), p.stat().st_size] for p in paths]
    if as_json:
        emit_json({"files": [{"path": p, "bytes": n} for p, n in rows], "total_bytes": sum(n for _, n in rows)})
    else:
        table("golden vectors", ["file", "bytes"], rows + [["total", sum(n for _, n in rows)]])


@bridge.command()
@click.option("--opt", type=click.Choice(["-O2", "-Os"]), default="-O2", show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("build/bridge-size"),
              show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def size(opt: str, out: Path, as_json: bool) -> None:
    """Flash (text + data) and RAM per stream on Cortex-M4F for the default spec."""
    from edgekit.bridge.toolchain import m4_size_report

    report = m4_size_report(out, opt).as_dict()
    if as_json:
        emit_json(report)
        return
    table(f"bridge on Cortex-M4F ({opt}), spec {report['spec_hash']}", ["", "bytes", "goal"], [
        ["flash: bridge + libm + config", report["flash_bytes"], "<= 16384"],
        ["flash: all library objects", report["library_text_bytes"] + report["library_data_bytes"], ""],
        ["RAM: ek_bridge_t", report["ram_state_bytes"], ""],
        ["RAM: workspace", report["ram_workspace_bytes"], ""],
        ["RAM per stream", report["ram_per_stream_bytes"], "<= 2048"],
        ["stack of ek_bridge_push", report["stack_bytes_push"], ""],
    ])
