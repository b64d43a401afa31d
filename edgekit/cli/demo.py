"""`edgekit demo`: run the spine on the simulator and print one summary table."""

from __future__ import annotations

from pathlib import Path

import click

from edgekit.cli.render import console, emit_json, table

QUICK = ("train.epochs=1", "teachers.folds=2")  # --quick: a smoke run of every step


@click.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("results/demo"),
              show_default=True, help="Folder for the demo's data, features, models, reports and plots.")
@click.option("--sequences", "n_sequences", type=click.IntRange(min=20), default=480, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--bench-runs", type=click.IntRange(min=5), default=200, show_default=True)
@click.option("--quick", is_flag=True, help=f"Smoke run: {' '.join(QUICK)} and 10 bench runs.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.argument("overrides", nargs=-1)
def demo(out: Path, n_sequences: int, seed: int, bench_runs: int, quick: bool, as_json: bool,
         overrides: tuple[str, ...]) -> None:
    """The whole pipeline on simulated data, on CPU: simulate → features → teachers → student → INT8 →
    bench → stream. OVERRIDES are recipe key=value pairs (train.epochs=3)."""
    from edgekit.demo import SUMMARY_COLUMNS, run_demo, summary_cells, summary_notes

    def on_step(name: str, report: dict) -> None:
        if not as_json:
            console.print(f"[bold green]✓[/] {name} ({report['step_s']:.1f} s)")

    if quick:
        overrides, bench_runs = QUICK + overrides, min(bench_runs, 10)
    with console.status("running the demo", spinner="dots") if not as_json else _nothing():
        summary = run_demo(out, n_sequences=n_sequences, seed=seed, overrides=overrides, bench_runs=bench_runs,
                           on_step=on_step)
    if as_json:
        emit_json(summary)
        return
    table(f"edgekit demo → {summary['out_dir']} ({summary['total_s'] / 60:.1f} min)", SUMMARY_COLUMNS,
          [summary_cells(r) for r in summary["table"]])
    click.echo(summary_notes(summary))
    click.echo("plots: " + ", ".join(summary["plots"]))


def _nothing():
    from contextlib import nullcontext

    return nullcontext()
