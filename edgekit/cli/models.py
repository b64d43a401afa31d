"""`edgekit models list`: the registered zoo with parameters and MACs."""

from __future__ import annotations

import click

from edgekit.cli.render import emit_json, table


@click.group()
def models() -> None:
    """Inspect the model zoo (teachers and students)."""


@models.command("list")
@click.option("--length", type=click.IntRange(min=1), default=128, show_default=True,
              help="Window length T (samples) for MACs per window.")
@click.option("--in-chs", type=click.IntRange(min=1), default=40, show_default=True, help="Input channels C.")
@click.option("--classes", "num_classes", type=click.IntRange(min=2), default=18, show_default=True,
              help="Number of classes.")
@click.option("--json", "as_json", is_flag=True, help="Print the table as JSON.")
def list_(length: int, in_chs: int, num_classes: int, as_json: bool) -> None:
    """Every registered model: kind, streamable, params, MACs per window and per streaming step."""
    from edgekit.models.costs import model_table

    rows = model_table(length=length, in_chs=in_chs, num_classes=num_classes)
    if as_json:
        emit_json(rows)
        return
    table(
        f"Models (T={length}, C={in_chs}, K={num_classes})",
        ["name", "kind", "streamable", "params", "MACs/window", "MACs/step"],
        [[r["name"], r["kind"], "yes" if r["streamable"] else "", f"{r['params']:,}",
          f"{r['macs_per_window']:,}", "" if r["macs_per_step"] is None else f"{r['macs_per_step']:,}"]
         for r in rows],
    )
