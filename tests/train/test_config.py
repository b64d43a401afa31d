"""Recipes: typed conversion, key=value overrides, errors that name the key and what is allowed."""

from __future__ import annotations

import tomllib

import pytest

from edgekit.train.config import Recipe, StudentConfig
from edgekit.train.recipe import RecipeError, apply_overrides, dump_recipe, load_recipe, recipe_from_dict
from edgekit.train.schedule import OptimName

from tests.train.conftest import tiny_recipe

QUICKSTART = "recipes/sim/quickstart.toml"


def test_overrides_set_typed_values():
    recipe = load_recipe(QUICKSTART, ["train.epochs=3", "student.name=modern_tcn_xs", "train.optim.lr=0.01",
                                      "train.optim.name=schedule_free", "teachers.members.0.options.chs=16",
                                      "data.keep=first", "train.augment.stretch_range=[0.8, 1.2]"])
    assert isinstance(recipe, Recipe)
    assert recipe.train.epochs == 3 and recipe.student.name == "modern_tcn_xs"
    assert recipe.train.optim.lr == 0.01 and recipe.train.optim.name is OptimName.SCHEDULE_FREE
    assert recipe.teachers.members[0].options["chs"] == 16
    assert recipe.data.keep == "first" and recipe.train.augment.stretch_range == (0.8, 1.2)


def test_override_does_not_touch_the_input():
    raw = {"train": {"epochs": 1}}
    out = apply_overrides(raw, ["train.epochs=5"])
    assert raw["train"]["epochs"] == 1 and out["train"]["epochs"] == 5


@pytest.mark.parametrize("override, expected", [
    ("train.epoks=3", ["train.epoks", "allowed", "epochs"]),
    ("data.keep=middle", ["data.keep", "'last'", "'first'"]),
    ("features.preset=fancy", ["features.preset", "cmi_default", "uci_har_default"]),
    ("student.name=no_such_model", ["student.name", "no_such_model", "modern_tcn_xs"]),
    ("teachers.members.0.name=modern_tcn_xs", ["teachers.members.0.name", "wavenet1d"]),
    ("teachers.members.0.options.widht=3", ["teachers.members.0.options", "widht", "chs"]),
    ("student.options.hiden=3", ["student.options", "hiden"]),
    ("train.epochs=many", ["train.epochs", "'many'", "int"]),
    ("train.epochs=0", ["train.epochs", "positive"]),
    ("train.epochs=2.0", ["train.epochs", "2.0", "integer"]),
    ("train.optim.lr=0", ["train.optim.lr", "positive"]),
    ("teachers.tta_shifts=[2, -1]", ["teachers.tta_shifts.1", "-1", ">= 0"]),
    ("train.augment.cutmix_p=0.9", ["train.augment", "mixup_p + cutmix_p"]),
    ("teachers.members.1.name=wavenet1d", ["teachers", "repeat"]),
    ("train.loss.kind=hinge", ["hinge", "focal", "soft_f1"]),
    ("train.optim.name=sgd", ["sgd", "adamw", "schedule_free"]),
    ("distill.soft_labels=best", ["distill.soft_labels", "stacked", "average"]),
    ("bogus", ["key=value"]),
])
def test_recipe_errors_name_the_key_and_the_allowed_values(override, expected):
    with pytest.raises(RecipeError) as err:
        load_recipe(QUICKSTART, [override])
    for text in expected:
        assert text in str(err.value), str(err.value)


def test_model_options_that_are_dataclasses_come_from_plain_tables(sim_table):
    from edgekit.models import count_params, create_model
    from edgekit.train.recipe import model_options

    raw = tiny_recipe(sim_table)
    raw["teachers"]["members"] = [{"name": "resnet1d", "options": {"stem_chs": 8, "stages": [{"out_chs": 8}]}}]
    recipe = recipe_from_dict(raw)
    opts = model_options("resnet1d", recipe.teachers.members[0].options)
    assert type(opts["stages"]).__name__ == "tuple" and opts["stages"][0].out_chs == 8
    assert count_params(create_model("resnet1d", in_chs=4, num_classes=3, **opts)) < 20_000
    raw["teachers"]["members"][0]["options"]["stages"] = [{"out_chz": 8}]
    with pytest.raises(RecipeError, match="out_chz"):
        recipe_from_dict(raw)


def test_resolved_recipe_round_trips(tmp_path):
    recipe = load_recipe(QUICKSTART, ["train.epochs=2", "train.augment.stretch_range=[0.8, 1.2]"])
    text = dump_recipe(recipe, header="edgekit train --recipe x.toml")
    assert text.startswith("# edgekit train --recipe x.toml")
    tomllib.loads(text)  # valid TOML
    path = tmp_path / "resolved.toml"
    path.write_text(text)
    assert load_recipe(path) == recipe


def test_dump_recipe_quotes_non_ascii_keys():
    recipe = Recipe(student=StudentConfig(options={"größe": 2, "名前": "ä", "plain": [1, 2]}))
    data = tomllib.loads(dump_recipe(recipe, header="a header"))
    assert data["student"]["options"] == {"größe": 2, "名前": "ä", "plain": [1, 2]}
    assert recipe_from_dict({**data, "student": {"name": "modern_tcn_xs"}}).student.name == "modern_tcn_xs"
