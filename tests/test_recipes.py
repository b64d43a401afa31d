"""Every recipe in recipes/ loads, validates, and starts with the command that runs it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from edgekit.train.recipe import load_recipe, recipe_json_schema

ROOT = Path(__file__).resolve().parents[1]
RECIPES = sorted((ROOT / "recipes").rglob("*.toml"))
REQUIRED = ["sim/quickstart.toml", "sim/teacher_ensemble.toml", "cmi/teacher_ensemble.toml", "cmi/student_tcn.toml",
            "uci_har/teacher_ensemble.toml", "uci_har/student_tcn.toml"]


def test_required_recipes_exist():
    names = {p.relative_to(ROOT / "recipes").as_posix() for p in RECIPES}
    assert set(REQUIRED) <= names, sorted(set(REQUIRED) - names)


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.relative_to(ROOT / "recipes").as_posix())
def test_recipe_loads_and_names_its_command(path):
    recipe = load_recipe(path)
    first = path.read_text().splitlines()[0]
    match = re.match(r"#\s*(.*edgekit train .*)$", first)
    assert match, f"{path}: the first line must be a comment holding the command that runs it"
    command = match.group(1)
    assert f"--recipe recipes/{path.relative_to(ROOT / 'recipes').as_posix()}" in command
    if recipe.teachers.members:
        assert recipe.teachers.folds >= 2


def _schema_paths(schema: dict, node: dict, prefix: str = "") -> set[str]:
    """Dotted paths of every table key the schema declares (following `$ref`s)."""
    node = schema["$defs"][node["$ref"].split("/")[-1]] if "$ref" in node else node
    paths = set()
    for key, sub in node.get("properties", {}).items():
        paths.add(prefix + key)
        paths |= _schema_paths(schema, sub, f"{prefix}{key}.")
    return paths


def _toml_paths(data: dict, prefix: str = "") -> set[str]:
    paths = set()
    for key, value in data.items():
        paths.add(prefix + key)
        if isinstance(value, dict) and key not in ("options", "spec"):  # free-form builder options
            paths |= _toml_paths(value, f"{prefix}{key}.")
    return paths


def test_json_schema_declares_every_key_of_the_shipped_recipes():
    import tomllib

    schema = recipe_json_schema()
    declared = _schema_paths(schema, schema)
    assert {"train.epochs", "train.optim.lr", "teachers.members", "data.keep"} <= declared
    assert schema["additionalProperties"] is False  # editors flag a misspelt key
    epochs = schema["$defs"]["TrainConfig"]["properties"]["epochs"]
    assert epochs["type"] == "integer" and epochs["minimum"] == 1
    for path in RECIPES:
        assert _toml_paths(tomllib.loads(path.read_text())) <= declared, path
