"""Every recipe in recipes/ loads, validates, and starts with the command that runs it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from edgekit.train.recipe import load_recipe

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
