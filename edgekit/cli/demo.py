"""`edgekit demo`: run the spine on the simulator and print one summary table."""

from __future__ import annotations

from pathlib import Path

import click

from edgekit.cli.render import console, emit_json, table


@click.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("results/demo"),
              show_default=True, help="Folder for the demo's data, features, models and plots.")
@click.option("--sequences", "n_sequences", type=click.IntRange(min=20), default=400, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def demo(out: Path, n_sequences: int, seed: int, as_json: bool) -> None:
    """The whole pipeline on simulated data, on CPU."""
    from edgekit.demo import run_demo

    def on_step(name: str, report: dict) -> None:
        if not as_json:
            console.print(f"[bold green]✓[/] {name} ({report['step_s']:.1f} s)")

    summary = run_demo(out, n_sequences=n_sequences, seed=seed, on_step=on_step)
    if as_json:
        emit_json(summary)
        return
    rows = [[k, v] for k, v in summary.items() if k != "steps"]
    rows += [[f"{name} s", s] for name, s in summary["steps"].items()]
    table("edgekit demo", ["", "value"], rows)
