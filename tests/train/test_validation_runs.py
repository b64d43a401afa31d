"""Validation-driven stages in a whole run: the student's held-out split, early stopping and best
weights recorded in metrics.json, and a run stopped mid-way that resumes to the same end."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgekit.errors import EdgekitError
from edgekit.rundir import RunDir, load_model
from edgekit.data.folds import validation_split
from edgekit.train.prepare import STUDENT_SEED_OFFSET
from edgekit.train.loop import predict
from edgekit.train.prepare import prepare
from edgekit.train.recipe import recipe_from_dict
from edgekit.train.run import TrainRequest, train
from edgekit.train.scoring import quick_scores
from edgekit.train.tensors import SequenceTensors
from tests.train.conftest import tiny_recipe

VOLATILE = {"seconds", "train_samples_per_s", "timings"}
# min_delta 1: no score in [0, 1] can improve by more, so patience ends a stage at a known evaluation
STOPS_EARLY = {"epochs": 6, "patience": 2, "min_delta": 1.0, "eval_every_steps": 3}


@pytest.fixture(scope="module")
def people_table(tmp_path_factory):
    """120 simulated sequences of 20 people: enough people for a subject-grouped student split."""
    from edgekit.data.simulator import SimConfig, simulate, write_simulation

    path = tmp_path_factory.mktemp("sim") / "train.parquet"
    write_simulation(simulate(120, seed=5, config=SimConfig(n_subjects=20)), path)
    return path


def _recipe(table, **train_fields):
    members = [{"name": "wavenet1d", "options": {"chs": 8, "dilations": [1, 2], "drop": 0.0}}]
    return recipe_from_dict(tiny_recipe(table, teachers={"members": members},
                                        train={"epochs": 2, "batch_size": 16, **train_fields}))


def _stable(obj):
    if isinstance(obj, dict):
        return {k: _stable(v) for k, v in obj.items() if k not in VOLATILE}
    if isinstance(obj, list):
        return [_stable(v) for v in obj]
    return obj


class _Stopped(Exception):
    pass


def _stop_at_evaluation(n: int):
    seen = 0

    def on_progress(p) -> None:
        nonlocal seen
        if p.kind == "epoch":
            seen += 1
            if seen == n:
                raise _Stopped(p.stage)

    return on_progress


def test_the_student_split_is_disjoint_and_subject_grouped_when_subjects_exist():
    labels = np.arange(140) % 4
    subjects = np.repeat(np.arange(14), 10)
    train_idx, valid_idx, info = validation_split(labels, subjects, 0.15, seed=0)
    assert info["split"] == "subjects" and info["stratified"] and info["sequences"] == len(valid_idx) > 0
    assert not set(train_idx) & set(valid_idx) and len(train_idx) + len(valid_idx) == 140
    assert not set(subjects[train_idx]) & set(subjects[valid_idx])  # nobody on both sides
    assert 0.05 < len(valid_idx) / 140 < 0.3
    # no subjects (each sequence its own) or too few of them: split over sequences, still stratified
    for few in (np.arange(140), np.repeat(np.arange(3), [50, 50, 40])):
        tr, va, info = validation_split(labels, few, 0.15, seed=0)
        assert info["split"] == "sequences" and not set(tr) & set(va) and len(tr) + len(va) == 140
        assert sorted(np.bincount(labels[va])) == [5, 5, 5, 5]
    none = validation_split(labels, subjects, 0.0, seed=0)
    assert len(none[0]) == 140 and len(none[1]) == 0 and none[2]["split"] == "none"


@pytest.fixture(scope="module")
def reference_run(people_table, tmp_path_factory):
    recipe = _recipe(people_table, **STOPS_EARLY)
    out = tmp_path_factory.mktemp("runs") / "ref"
    return recipe, out, train(TrainRequest(recipe, teacher="ensemble", out=out))


def test_early_stopping_is_recorded_and_the_student_keeps_its_best_weights(reference_run):
    recipe, out, result = reference_run
    metrics = json.loads((out / "metrics.json").read_text())
    student = metrics["student"]
    stop = student["stopping"]
    # evaluations every 3 steps: the first sets the reference, two more without improvement stop it
    assert stop["stop_reason"] == "early_stopping" and stop["stopped_at_step"] == 9 < stop["budget_steps"]
    assert stop["monitor"] == "cmi_score" and stop["restored_best"] and stop["best_step"] in (3, 6, 9)
    assert student["validation"]["split"] == "subjects" and student["validation"]["sequences"] > 0
    assert student["train_sequences"] + student["validation"]["sequences"] == metrics["data"]["train_sequences"]
    assert student["val"]["cmi_score"] == stop["best_value"] == result["student"]["stopping"]["best_value"]
    for fold in metrics["teachers"]["members"]["wavenet1d"]["folds"]:
        assert fold["stopping"]["stop_reason"] == "early_stopping" and fold["stopping"]["stopped_at_step"] == 9
        assert fold["val"]["cmi_score"] == fold["stopping"]["best_value"]

    # the saved student (whose test logits the metrics come from) scores the best value on its split
    data = prepare(recipe, needs_folds=False)
    _, valid_idx, _ = validation_split(data.train.labels, data.train_subjects, recipe.student.valid_fraction,
                                       recipe.seed + STUDENT_SEED_OFFSET)
    valid = SequenceTensors(data.train.subset(valid_idx), data.num_classes)
    logits = predict(load_model(RunDir(out).student), valid, 64, _cpu(), amp=False)
    assert quick_scores(valid.labels.numpy(), logits, data.class_names)["cmi_score"] == pytest.approx(stop["best_value"])


def test_a_run_stopped_mid_way_with_early_stopping_resumes_to_the_same_end(reference_run, tmp_path):
    recipe, ref_out, reference = reference_run
    out = tmp_path / "stopped"
    # steps per epoch: fold 1 3, fold 2 2, student 4; evaluations every 3 steps, the third stops a stage.
    # Stopped at fold 2's first evaluation (step 3: inside its second epoch) ...
    with pytest.raises(_Stopped, match="fold 2/2"):
        train(TrainRequest(recipe, teacher="ensemble", out=out), on_progress=_stop_at_evaluation(4))
    # ... then at the student's first (inside its first epoch) ...
    with pytest.raises(_Stopped, match="student"):
        train(TrainRequest(recipe, teacher="ensemble", out=out, resume=True), on_progress=_stop_at_evaluation(3))
    # ... then at its third, the one that stops it, checkpointed with its verdict
    with pytest.raises(_Stopped, match="student"):
        train(TrainRequest(recipe, teacher="ensemble", out=out, resume=True), on_progress=_stop_at_evaluation(2))
    steps = []
    resumed = train(TrainRequest(recipe, teacher="ensemble", out=out, resume=True),
                    on_progress=lambda p: steps.append(p.stage) if p.kind == "step" else None)
    assert steps == []  # the student had already stopped: nothing is trained again
    assert _stable(resumed)["student"] == _stable(reference)["student"]
    assert _stable(resumed)["teachers"] == _stable(reference)["teachers"]  # fold histories included
    np.testing.assert_array_equal(np.load(out / "student" / "test_logits.npy"),
                                  np.load(ref_out / "student" / "test_logits.npy"))


def test_patience_without_a_student_split_is_refused_in_the_recipe(people_table):
    with pytest.raises(EdgekitError, match="student.valid_fraction > 0"):
        recipe_from_dict(tiny_recipe(people_table, train={"patience": 3}, student={"valid_fraction": 0.0}))


def _cpu():
    import torch

    return torch.device("cpu")
