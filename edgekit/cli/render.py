"""Rendering helpers shared by the subcommands: JSON for machines, rich tables for people."""

from __future__ import annotations

import json
from typing import Any, Sequence

import click
from rich.console import Console
from rich.table import Table

from edgekit.formatting import format_cell

console = Console()


def emit_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, default=_json_default))


def _json_default(obj: Any):
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    t = Table(title=title, title_justify="left")
    for i, col in enumerate(columns):
        t.add_column(col, justify="left" if i == 0 else "right", no_wrap=True)
    for row in rows:
        t.add_row(*(format_cell(v) for v in row))
    print_wide(t)


def print_wide(renderable) -> None:
    """Print at the renderable's natural width even when the terminal is narrower: a table whose
    numbers are folded into slivers is unreadable, a long line the terminal wraps is not."""
    from rich.measure import Measurement

    width = Measurement.get(console, console.options.update_width(10_000), renderable).maximum
    if width <= console.width:
        console.print(renderable)
    else:
        Console(width=width).print(renderable)
