"""Zero-config recipes with budget overrides: `train.min_steps` stays within every stage's
`max_steps` (a derived minimum follows the overridden budgets, a user's minimum above one is refused)."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from edgekit.train.auto import EVALUATIONS, MIN_BUDGET_FRACTION, derive_recipe
from edgekit.train.recipe import RecipeError


@pytest.fixture(scope="module")
def monitored_table(tmp_path_factory):
    """70 sequences of 2 classes: validation splits big enough that the derived recipe early-stops."""
    rng = np.random.default_rng(0)
    n, length = 70, 16
    path = tmp_path_factory.mktemp("budgets") / "wrist.csv"
    pl.DataFrame({"sequence_id": np.repeat([f"s{i}" for i in range(n)], length),
                  "label": np.repeat([("rest", "walk")[i % 2] for i in range(n)], length),
                  "time": np.tile(np.arange(length) * 0.05, n),
                  **{c: rng.normal(size=n * length) for c in ("acc_x", "acc_y", "acc_z")}}).write_csv(path)
    return str(path)


def test_a_lowered_budget_takes_the_derived_minimum_with_it(monitored_table):
    derived = derive_recipe(monitored_table, test_source=monitored_table)
    assert derived.recipe.train.min_steps > 200  # the premise: a third of the derived budgets
    auto = derive_recipe(monitored_table, test_source=monitored_table, overrides=["student.max_steps=200"])
    train = auto.recipe.train
    assert auto.recipe.student.max_steps == 200
    assert train.min_steps == int(200 * MIN_BUDGET_FRACTION) <= auto.recipe.teachers.max_steps
    assert any(f"train.min_steps: {train.min_steps}" in n and "student.max_steps=200" in n
               and f"derived {derived.recipe.train.min_steps}" in n for n in auto.notes), auto.notes
    # validation keeps up with the shorter budget, so early stopping can still act
    assert derived.recipe.train.eval_every_steps > 200 // EVALUATIONS  # the premise: 1 validation in 200 steps
    assert train.eval_every_steps == 200 // EVALUATIONS


def test_a_student_alone_is_not_held_to_the_teachers_budget(monitored_table):
    # --teacher none: the teachers never train, so their budget neither refuses nor sets the minimum
    auto = derive_recipe(monitored_table, test_source=monitored_table, teacher="none",
                         overrides=["student.max_steps=3000", "teachers.max_steps=10"])
    assert auto.recipe.train.min_steps == int(3000 * MIN_BUDGET_FRACTION)


def test_a_user_minimum_above_a_budget_is_refused_naming_both(monitored_table):
    with pytest.raises(RecipeError, match=r"train.min_steps=300 is above student.max_steps=200;"):
        derive_recipe(monitored_table, test_source=monitored_table,
                      overrides=["student.max_steps=200", "train.min_steps=300"])
    kept = derive_recipe(monitored_table, test_source=monitored_table,
                         overrides=["student.max_steps=200", "train.min_steps=150"]).recipe
    assert kept.train.min_steps == 150  # the user's own minimum, within the budget, is left alone


def test_print_recipe_shows_the_followed_minimum(monitored_table):
    import tomllib

    from edgekit.cli import main as cli

    args = ["train", monitored_table, "--test", monitored_table, "--print-recipe"]
    result = CliRunner().invoke(cli, [*args, "student.max_steps=50"])
    assert result.exit_code == 0, result.output
    assert tomllib.loads(result.output)["train"]["min_steps"] == 16
    assert "# train.min_steps: 16 (1/3 of the shortest budget" in result.output
    refused = CliRunner().invoke(cli, [*args, "student.max_steps=50", "train.min_steps=60"])
    assert refused.exit_code == 2 and "train.min_steps=60 is above student.max_steps=50" in refused.output


def test_a_validated_student_chooses_distillation_on_a_split_its_teachers_never_saw(monitored_table):
    derived = derive_recipe(monitored_table, test_source=monitored_table)
    recipe = derived.recipe
    assert recipe.student.valid_fraction > 0  # the premise: the student is validated
    assert recipe.teachers.holdout == "student_validation"
    assert recipe.distill.alpha_candidates == [1.0]  # with and without the teachers
    assert any(n.startswith("distillation by validation") for n in derived.notes)
    alone = derive_recipe(monitored_table, test_source=monitored_table, teacher="none").recipe
    assert alone.teachers.holdout == "none" and alone.distill.alpha_candidates == []
    # a user who turns the choice off gets the plain folds back
    plain = derive_recipe(monitored_table, test_source=monitored_table,
                          overrides=["distill.alpha_candidates=[]", "teachers.holdout=none"]).recipe
    assert plain.teachers.holdout == "none" and plain.distill.alpha_candidates == []


def test_the_recipe_is_derived_for_the_student_named_on_the_command_line(monitored_table):
    from edgekit.errors import EdgekitError

    lite = derive_recipe(monitored_table, test_source=monitored_table, student="lite")
    assert lite.recipe.student.name == "lite"
    assert lite.recipe.student.options == {"window_standardize": True}  # offline; no ModernTCN dilations
    assert any(n.startswith("student: lite") for n in lite.notes)
    causal = derive_recipe(monitored_table, test_source=monitored_table, student="modern_tcn_causal_xs").recipe
    assert "window_standardize" not in causal.student.options  # a streaming student sees no whole window
    with pytest.raises(EdgekitError, match="--student 'nope' is not a registered student; expected one of.*lite"):
        derive_recipe(monitored_table, test_source=monitored_table, student="nope")


def test_a_reused_run_whose_teachers_held_out_a_split_keeps_the_alpha_choice(monitored_table, tmp_path):
    held, plain = tmp_path / "held", tmp_path / "plain"
    for folder, held_out in ((held, [3, 5, 8]), (plain, [])):
        folder.mkdir()
        (folder / "data.json").write_text(json.dumps({"train_ids_digest": "0", "held_out": held_out}))
    reusing = derive_recipe(monitored_table, test_source=monitored_table, teacher=str(held)).recipe
    assert reusing.teachers.holdout == "student_validation" and reusing.distill.alpha_candidates == [1.0]
    other = derive_recipe(monitored_table, test_source=monitored_table, teacher=str(plain)).recipe
    assert other.teachers.holdout == "none" and other.distill.alpha_candidates == []
