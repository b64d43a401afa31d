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
    from edgekit.demo import run_demo, summary_markdown

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
    rows = [[r["model"], _pct(r.get("accuracy")), _pct(r.get("macro_f1")), _num(r.get("cmi_score")),
             f"{r['size_bytes'] / 1024:.0f}", _count(r["macs"]), _num(r["p50_ms"]),
             "" if r["speedup"] is None else f"{r['speedup']:.3g}x",
             f"{r['stream_p50_us']:.0f} / {r['stream_p99_us']:.0f}" if r.get("stream_p50_us") else ""]
            for r in summary["table"]]
    table(f"edgekit demo → {summary['out_dir']} ({summary['total_s'] / 60:.1f} min)",
          ["model", "acc %", "F1 %", "CMI", "KiB", "MACs", "p50 ms", "speedup", "stream µs p50/p99"],
          rows)
    click.echo(summary_markdown(summary).split("\n\n", 1)[1])
    click.echo("plots: " + ", ".join(summary["plots"]))


def _nothing():
    from contextlib import nullcontext

    return nullcontext()


def _pct(v) -> str:
    return "" if v is None else f"{100 * v:.1f}"


def _num(v) -> str:
    return "" if v is None else f"{v:.3g}"


def _count(v) -> str:
    return f"{v / 1e6:.2f} M" if v >= 1e6 else f"{v / 1e3:.1f} K"
