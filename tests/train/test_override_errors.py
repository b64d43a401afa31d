"""A bad `key=value` override is named as such, not blamed on the recipe file it was applied to."""

from __future__ import annotations

import pytest

from edgekit.train.recipe import RecipeError, load_recipe

QUICKSTART = "recipes/sim/quickstart.toml"


@pytest.mark.parametrize("override, problem", [
    ("train.epochs=abc", "train.epochs: expected an integer, got 'abc'"),
    ("train.epochs=0", "train.epochs: expected a positive integer"),
    ("student.name=no_such_model", "student.name = 'no_such_model' is not a registered model"),
    ("train.epoks=3", "unknown key 'train.epoks'"),
])
def test_a_bad_override_is_named(override, problem):
    with pytest.raises(RecipeError) as err:
        load_recipe(QUICKSTART, ["train.epochs=2", override, "data.keep=first"])
    message = str(err.value)
    assert message.startswith(f"override {override}: {problem}"), message
    assert "quickstart.toml" not in message


def test_a_broken_recipe_file_is_still_blamed_on_the_file(tmp_path):
    recipe = tmp_path / "broken.toml"
    recipe.write_text("[train]\nepochs = 'many'\n")
    with pytest.raises(RecipeError, match=r"broken.toml: train.epochs: expected an integer"):
        load_recipe(recipe, ["train.optim.lr=0.01"])


def test_overrides_that_fail_only_together_are_named_together():
    with pytest.raises(RecipeError) as err:
        load_recipe(QUICKSTART, ["train.augment.mixup_p=0.6", "train.augment.cutmix_p=0.6"])
    message = str(err.value)
    assert "with overrides train.augment.mixup_p=0.6 train.augment.cutmix_p=0.6: train.augment" in message, message
