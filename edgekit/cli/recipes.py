"""`edgekit recipes list|cp|schema`: the training recipes shipped in the package."""

from __future__ import annotations

from pathlib import Path

import click

from edgekit.cli.render import emit_json, table


@click.group()
def recipes() -> None:
    """The recipes shipped with edgekit: list them, copy one out to edit, print their schema."""


@recipes.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def list_(as_json: bool) -> None:
    """Every shipped recipe with the command that runs it (`--recipe NAME` takes these names)."""
    from edgekit.resources import list_recipes, recipe_summary, shipped_recipe

    rows = [{"name": name, "command": recipe_summary(shipped_recipe(name))} for name in list_recipes()]
    if as_json:
        emit_json(rows)
    else:
        table("recipes (copy one out with `edgekit recipes cp NAME DEST`)", ["name", "command"],
              [[r["name"], r["command"]] for r in rows])


@recipes.command("cp")
@click.argument("name")
@click.argument("dest", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite DEST if it exists.")
def cp(name: str, dest: Path, force: bool) -> None:
    """Copy the shipped recipe NAME (e.g. sim/quickstart) to DEST (a .toml file or a folder)."""
    from edgekit.resources import copy_recipe

    target = copy_recipe(name, dest, force=force)
    click.echo(f"wrote {target}; run it with: edgekit train --recipe {target}")


@recipes.command("schema")
def schema() -> None:
    """The JSON Schema of a recipe (point your editor's TOML/JSON schema support at it)."""
    from edgekit.train.recipe import recipe_json_schema

    emit_json(recipe_json_schema())
