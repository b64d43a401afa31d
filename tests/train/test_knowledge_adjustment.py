"""Knowledge Adjustment (`distill.adjust = "swap"`): out-of-fold soft labels whose top class is
wrong get the true class's and the guess's values swapped before the student learns from them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgekit.rundir import RunDir
from edgekit.data.folds import validation_split
from edgekit.train.distill import knowledge_adjusted
from edgekit.train.prepare import STUDENT_SEED_OFFSET
from edgekit.train.prepare import prepare
from edgekit.train.recipe import RecipeError, recipe_from_dict
from edgekit.train.run import TrainRequest, train
from tests.train.conftest import TINY_TEACHERS, tiny_recipe


def test_only_wrong_rows_change_and_the_true_class_takes_the_top_value():
    logp = np.log(np.array([[0.7, 0.2, 0.1],    # right: untouched
                            [0.1, 0.6, 0.3],    # true 0, guessed 1: swap 0 and 1
                            [0.25, 0.25, 0.5],  # true 1, guessed 2
                            [0.2, 0.3, 0.5]]))  # true 2: right
    labels = np.array([0, 0, 1, 2])
    out, changed = knowledge_adjusted(logp, labels)
    assert changed == 2
    np.testing.assert_allclose(np.exp(out), [[0.7, 0.2, 0.1], [0.6, 0.1, 0.3], [0.25, 0.5, 0.25], [0.2, 0.3, 0.5]])
    assert (out.argmax(1) == labels).all()
    np.testing.assert_allclose(np.exp(out).sum(1), 1.0)
    np.testing.assert_array_equal(logp[1], np.log([0.1, 0.6, 0.3]))  # the input is not modified


def test_a_distilled_run_swaps_the_wrong_out_of_fold_labels_of_its_training_part(sim_table, tmp_path):
    raw = tiny_recipe(sim_table, teachers={"members": TINY_TEACHERS[:1]},
                      student={"epochs": 1}, distill={"adjust": "swap"})
    recipe = recipe_from_dict(raw)
    metrics = train(TrainRequest(recipe, teacher="ensemble", out=tmp_path / "run"))
    run = RunDir(tmp_path / "run")
    oof = np.load(run.teachers / "oof_logits.npy")
    data = prepare(recipe, needs_folds=False)
    train_idx, _, _ = validation_split(data.train.labels, data.train_subjects, recipe.student.valid_fraction,
                                       recipe.seed + STUDENT_SEED_OFFSET)
    wrong = int((oof[train_idx].argmax(1) != data.train.labels[train_idx]).sum())
    assert wrong > 0  # tiny teachers on 72 sequences: some guesses are wrong, so the swap is exercised
    report = json.loads((run.student / "report.json").read_text())
    assert report["loss"]["adjusted"] == wrong == metrics["student"]["loss"]["adjusted"]
    assert json.loads((run.student / "stage.json").read_text())["inputs"]["distill"]["adjust"] == "swap"


def test_adjust_is_a_checked_choice(sim_table):
    assert recipe_from_dict(tiny_recipe(sim_table)).distill.adjust == "none"
    with pytest.raises(RecipeError, match="distill.adjust.*'none'.*'swap'"):
        recipe_from_dict(tiny_recipe(sim_table, distill={"adjust": "correct"}))
