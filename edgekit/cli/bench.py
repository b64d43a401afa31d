"""`edgekit bench MODEL... [--threads 1,2] [--batch 1,64] [--runs N] [--out PATH] [--plot PATH] [--json]`."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import click

from edgekit.cli.render import console, emit_json
from edgekit.errors import EdgekitError


def _ints(text: str, flag: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise EdgekitError(f"{flag} {text!r}: expected comma-separated positive integers, e.g. 1,2") from None
    if not values or min(values) < 1:
        raise EdgekitError(f"{flag} {text!r}: expected comma-separated positive integers, e.g. 1,2")
    return values


@click.command()
@click.argument("models", nargs=-1, required=True)
@click.option("--threads", default="1", show_default=True, help="Intra-op thread counts, comma-separated.")
@click.option("--batch", "batches", default="1", show_default=True, help="Batch sizes, comma-separated.")
@click.option("--runs", type=click.IntRange(min=5), default=200, show_default=True, help="Timed runs per row.")
@click.option("--warmup", type=click.IntRange(min=0), default=20, show_default=True)
@click.option("--max-seconds", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
              help="Stop a row's timed runs after this long (slow models get fewer runs).")
@click.option("--length", type=click.IntRange(min=1), default=None,
              help="Window length in samples [default: each model's training window]; a length whose inputs "
                   "and activations cannot fit in half the machine's memory is refused, naming the longest that fits.")
@click.option("--baseline", default=None, help="Label of the model the ratios are against [default: the first].")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the full result as JSON here.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a latency PNG here.")
@click.option("--json", "as_json", is_flag=True, help="Print the full result as JSON instead of the table.")
@click.option("--target", type=click.Choice(["host", "cortex-m4"]), default="host", show_default=True,
              help="cortex-m4: compile each INT8 model to C and measure it under QEMU mps2-an386 (instructions, "
                   "flash, RAM) next to the host figures.")
def bench(models: tuple[str, ...], threads: str, batches: str, runs: int, warmup: int, max_seconds: float,
          length: int | None, baseline: str | None, out_path: Path | None, plot_path: Path | None,
          as_json: bool, target: str) -> None:
    """Latency, throughput, size and MACs of exported models side by side. MODEL is PATH or LABEL=PATH."""
    if target == "cortex-m4":
        from edgekit.device.bench import device_bench
        from edgekit.device.report import device_markdown
        from edgekit.runtime.bench import BenchModel

        with console.status("compiling and running under QEMU", spinner="dots") if not as_json else nullcontext():
            results = [device_bench(BenchModel.parse(m).path, host_runs=runs) for m in models]
        if out_path is not None:
            from edgekit.io import write_json_atomic

            write_json_atomic(out_path, results)
        emit_json(results) if as_json else click.echo("\n".join(device_markdown(r) for r in results))
        return
    from edgekit.io import write_json_atomic
    from edgekit.paths import ensure_writable_file
    from edgekit.runtime.bench import BenchModel, BenchOptions, bench_models
    from edgekit.runtime.report import bench_markdown, bench_plot

    for flag, path in (("--out", out_path), ("--plot", plot_path)):
        if path is not None:
            ensure_writable_file(path, flag)  # before the timed runs, not after them
    options = BenchOptions(threads=_ints(threads, "--threads"), batches=_ints(batches, "--batch"), runs=runs,
                           warmup=warmup, max_seconds=max_seconds, length=length, baseline=baseline)
    with console.status("benchmarking", spinner="dots") if not as_json else nullcontext():
        result = bench_models([BenchModel.parse(m) for m in models], options)
    if plot_path is not None:
        result["plot"] = str(bench_plot(result, plot_path))
    if out_path is not None:
        write_json_atomic(out_path, result)
    if as_json:
        emit_json(result)
        return
    click.echo(bench_markdown(result))  # markdown: plain text, never re-wrapped to the terminal width

