"""`edgekit recipes list|cp|schema`, and recipes named by their shipped name from any folder."""

from __future__ import annotations

import json
import tomllib

import pytest
from click.testing import CliRunner

from edgekit.cli import main
from edgekit.errors import EdgekitError
from edgekit.resources import list_recipes, recipes_dir, shipped_recipe
from edgekit.train.recipe import load_recipe


def _run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_list_names_every_shipped_recipe_with_its_command():
    result = _run("recipes", "list", "--json")
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r["command"] for r in json.loads(result.output)}
    assert set(rows) == {p.relative_to(recipes_dir()).with_suffix("").as_posix() for p in recipes_dir().rglob("*.toml")}
    assert rows["sim/quickstart"].startswith("edgekit train --recipe recipes/sim/quickstart.toml")


def test_cp_copies_a_recipe_out_and_refuses_to_overwrite(tmp_path):
    result = _run("recipes", "cp", "sim/quickstart", str(tmp_path))
    assert result.exit_code == 0, result.output
    copied = tmp_path / "quickstart.toml"
    assert copied.read_text() == shipped_recipe("sim/quickstart").read_text()
    again = _run("recipes", "cp", "sim/quickstart", str(copied))
    assert again.exit_code == 2 and "exists; pass --force" in again.output
    assert _run("recipes", "cp", "sim/quickstart", str(copied), "--force").exit_code == 0
    unknown = _run("recipes", "cp", "sim/nope", str(tmp_path))
    assert unknown.exit_code == 2 and "sim/quickstart" in unknown.output  # names what exists


def test_schema_is_the_recipe_json_schema():
    result = _run("recipes", "schema")
    assert result.exit_code == 0, result.output
    schema = json.loads(result.output)
    assert schema["type"] == "object" and {"data", "train", "student"} <= set(schema["properties"])


def test_a_shipped_recipe_loads_by_name_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no recipes/ folder here
    for spelling in ("sim/quickstart", "sim/quickstart.toml", "recipes/sim/quickstart.toml"):
        assert load_recipe(spelling).name == "sim-quickstart"
    with pytest.raises(EdgekitError, match="not a shipped recipe.*sim/quickstart"):
        load_recipe("sim/nope")


@pytest.mark.parametrize("name", [n for n in list_recipes() if not n.startswith("sim/")])
def test_shipped_recipes_name_no_data_path(name):
    """A path inside a shipped recipe would point into the user's folder: data comes from data.source=."""
    data = tomllib.loads(shipped_recipe(name).read_text())["data"]
    assert data["source"] == "" and "data.source=" in shipped_recipe(name).read_text().splitlines()[0]


def test_training_without_a_data_source_says_how_to_give_one(tmp_path):
    from edgekit.train.run import TrainRequest, train

    recipe = load_recipe("uci_har/student_tcn")
    with pytest.raises(EdgekitError, match="data.source is not set"):
        train(TrainRequest(recipe, teacher="none", out=tmp_path / "run"))


def test_train_recipe_flag_takes_a_shipped_name_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no recipes/ folder here: the name must resolve to the installed copy
    result = _run("train", "--recipe", "sim/quickstart", "--print-recipe")
    assert result.exit_code == 0, result.output
    assert 'name = "sim-quickstart"' in result.output
    unknown = _run("train", "--recipe", "sim/nope", "--print-recipe")
    assert unknown.exit_code == 2 and "not a shipped recipe" in unknown.output and "sim/quickstart" in unknown.output
