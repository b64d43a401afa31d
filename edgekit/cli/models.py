"""`edgekit models list [--json | --markdown]`: the registered zoo with parameters and MACs.

`models_markdown` is the README's model table: `bench/make_tables.py` writes it between
`<!-- MODELS -->` and `<!-- /MODELS -->`, and a test checks the README still matches it.
"""

from __future__ import annotations

import click

from edgekit.cli.render import emit_json, table
from edgekit.formatting import markdown_table

COLUMNS = ("model", "kind", "streamable", "params", "MACs/window", "MACs/step")
# The README's table is at these sizes (the CLI's defaults): the UCI-HAR-sized window of 128
# samples, the CMI input channels without ToF, the 18 CMI gestures.
README_SIZES = {"length": 128, "in_chs": 40, "num_classes": 18}
NOTES = ("Parameter counts include the students' training-only physics head, which export drops. Teachers "
         "accept an optional modality layout (IMU | thermopiles | ToF 8×8 images through a small 2D conv) with a "
         "per-sequence missing-modality mask and a demographics embedding; all models take right-padded batches "
         "with a mask, and padding does not change their output (tested).")


def model_cells(row: dict) -> list[str]:
    """A `model_table` row as the text of its `COLUMNS` cells (thousands separated, exact counts)."""
    step = row["macs_per_step"]
    return [row["name"], row["kind"], "yes" if row["streamable"] else "", f"{row['params']:,}",
            f"{row['macs_per_window']:,}", "" if step is None else f"{step:,}"]


def zoo_order(rows: list[dict]) -> list[dict]:
    """Teachers first, then students, each by name."""
    return sorted(rows, key=lambda r: (r["kind"] != "teacher", r["name"]))


def models_markdown(rows: list[dict]) -> str:
    """The model table as markdown (names as code), followed by what the numbers include."""
    cells = [[f"`{name}`", *rest] for name, *rest in map(model_cells, zoo_order(rows))]
    return markdown_table(COLUMNS, cells, left=3) + "\n" + NOTES + "\n"


def readme_models_block() -> str:
    """What the README holds between its MODELS markers."""
    from edgekit.models.costs import model_table

    return models_markdown(model_table(**README_SIZES))


@click.group()
def models() -> None:
    """Inspect the model zoo (teachers and students)."""


@models.command("list")
@click.option("--length", type=click.IntRange(min=1), default=README_SIZES["length"], show_default=True,
              help="Window length T (samples) for MACs per window.")
@click.option("--in-chs", type=click.IntRange(min=1), default=README_SIZES["in_chs"], show_default=True,
              help="Input channels C.")
@click.option("--classes", "num_classes", type=click.IntRange(min=2), default=README_SIZES["num_classes"],
              show_default=True, help="Number of classes.")
@click.option("--json", "as_json", is_flag=True, help="Print the table as JSON.")
@click.option("--markdown", "as_markdown", is_flag=True, help="Print the table as markdown (the README's).")
def list_(length: int, in_chs: int, num_classes: int, as_json: bool, as_markdown: bool) -> None:
    """Every registered model: kind, streamable, params, MACs per window and per streaming step."""
    from edgekit.models.costs import model_table

    if as_json and as_markdown:
        raise click.UsageError("--json and --markdown are alternatives; pass one")
    rows = model_table(length=length, in_chs=in_chs, num_classes=num_classes)
    if as_json:
        emit_json(rows)
    elif as_markdown:
        click.echo(models_markdown(rows), nl=False)
    else:
        table(f"Models (T={length}, C={in_chs}, K={num_classes})", COLUMNS,
              [model_cells(r) for r in zoo_order(rows)])
