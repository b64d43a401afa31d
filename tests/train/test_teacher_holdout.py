"""`teachers.holdout = "student_validation"`: the teacher folds leave out the student's validation
split, so the soft labels a distilled student learns from owe nothing to its validation subjects."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgekit.errors import EdgekitError
from edgekit.rundir import RunDir
from edgekit.train.distill import choose_alpha
from edgekit.train.ensemble import HELD_OUT
from edgekit.train.prepare import prepare, student_validation
from edgekit.train.recipe import RecipeError
from edgekit.train.run import TrainRequest, train
from edgekit.train.scoring import log_probs
from edgekit.train.stages import plan_stages
from tests.train.conftest import TINY_TEACHERS


def _fold_parts(data):
    return [np.concatenate([tr, va]) for tr, va in data.folds]


def test_the_folds_leave_out_the_students_validation_subjects(make_recipe):
    recipe = make_recipe(teachers={"holdout": "student_validation", "folds": 2}, student={"valid_fraction": 0.25})
    data = prepare(recipe)
    _, valid_idx, info = student_validation(recipe, data.train.labels, data.train_subjects)
    assert info["split"] == "subjects" and len(valid_idx) > 0
    np.testing.assert_array_equal(np.sort(data.held_out), np.sort(valid_idx))
    for part in _fold_parts(data):  # no fold trains or validates on a held-out sequence, or its subject
        assert not np.intersect1d(part, data.held_out).size
        assert not np.intersect1d(data.train_subjects[part], data.train_subjects[data.held_out]).size
    rest = np.setdiff1d(np.arange(len(data.train)), data.held_out)
    np.testing.assert_array_equal(np.sort(np.concatenate([va for _, va in data.folds])), rest)  # each once

    plain = prepare(make_recipe(teachers={"folds": 2}, student={"valid_fraction": 0.25}))
    assert len(plain.held_out) == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([va for _, va in plain.folds])), np.arange(len(plain.train)))


def test_the_held_out_sequences_get_every_folds_answer_averaged(make_recipe, tmp_path):
    recipe = make_recipe(teachers={"members": TINY_TEACHERS[:1], "holdout": "student_validation"},
                         student={"epochs": 1})
    metrics = train(TrainRequest(recipe, teacher="ensemble", out=tmp_path / "run"))
    run = RunDir(tmp_path / "run")
    data = prepare(recipe)
    member = TINY_TEACHERS[0]["name"]
    folds = [run.member_fold(member, k) for k in range(recipe.teachers.folds)]
    answers = [np.load(RunDir.logits_in(f, HELD_OUT)) for f in folds]
    oof = np.load(RunDir.logits_in(run.teachers / member, "oof"))
    np.testing.assert_allclose(oof[data.held_out], log_probs(np.mean(answers, axis=0)), rtol=1e-5, atol=1e-5)
    for folder in folds:  # the folds' sizes add up to the training set less the held-out part
        done = json.loads((folder / "done.json").read_text())
        assert done["train_sequences"] + done["val_sequences"] == len(data.train) - len(data.held_out)
    assert json.loads(run.data.read_text())["held_out"] == data.held_out.tolist()
    ensemble = json.loads(run.ensemble.read_text())["report"]
    assert "held_out" in ensemble and "held_out" in metrics["teachers"]
    student = json.loads((run.student / "report.json").read_text())
    assert student["validation"]["sequences"] == len(data.held_out)  # the same sequences the folds left out


def test_the_folds_are_retrained_when_the_students_split_changes(make_recipe, tmp_path):
    """With the hold-out the folds depend on `student.valid_fraction`; without it they do not."""
    def fold_prints(**sections):
        recipe = make_recipe(**sections)
        data = prepare(recipe)
        plan = plan_stages(recipe, data, RunDir(tmp_path), train_teachers=True, teacher_run=None, unlabeled=None)
        return [s.record.fingerprint for s in plan.teachers]

    held = {"holdout": "student_validation"}
    assert fold_prints(teachers=held, student={"valid_fraction": 0.25}) != \
        fold_prints(teachers=held, student={"valid_fraction": 0.3})
    assert fold_prints(student={"valid_fraction": 0.25}) == fold_prints(student={"valid_fraction": 0.3})


def test_holdout_is_a_checked_choice(make_recipe):
    assert make_recipe().teachers.holdout == "none"
    with pytest.raises(RecipeError, match="teachers.holdout.*'none'.*'student_validation'"):
        make_recipe(teachers={"holdout": "validation"})


# --- choosing α on the held-out split -------------------------------------------------------------
def _logits_right_on(labels: np.ndarray, right: int) -> np.ndarray:
    """Two-class logits whose argmax is the label on the first `right` rows and wrong after."""
    z = np.zeros((len(labels), 2))
    z[np.arange(len(labels)), labels] = 1.0
    z[right:] = z[right:, ::-1]
    return z


def _accuracy(y, z):
    return float((z.argmax(1) == y).mean())


def test_choose_alpha_keeps_a_distilled_candidate_only_when_validation_is_sure():
    y = np.random.default_rng(0).integers(0, 2, 400)
    clear = choose_alpha([0.5, 1.0], [_logits_right_on(y, 380), _logits_right_on(y, 320)], y, _accuracy,
                         lower_is_better=False, confidence=0.95)
    assert (clear.index, clear.best, clear.reference) == (0, 0.5, 1.0) and clear.p_better > 0.99
    # one window more right of 400: the best score, but not a lead the resamples confirm
    narrow = [_logits_right_on(y, 361), _logits_right_on(y, 360)]
    kept = choose_alpha([0.5, 1.0], narrow, y, _accuracy, lower_is_better=False, confidence=0.95)
    assert (kept.index, kept.best) == (1, 0.5) and 0 < kept.p_better < 0.95
    assert choose_alpha([0.5, 1.0], narrow, y, _accuracy, lower_is_better=False, confidence=0.0).index == 0
    # the reference is the largest α wherever it is listed; a tie goes to it, with no resampling
    tie = choose_alpha([1.0, 0.5], [_logits_right_on(y, 360)] * 2, y, _accuracy, lower_is_better=False,
                       confidence=0.95)
    assert (tie.index, tie.best, tie.p_better) == (0, 1.0, None)
    # a loss is minimised
    loss = lambda yy, z: 1.0 - _accuracy(yy, z)  # noqa: E731
    assert choose_alpha([0.5, 1.0], [_logits_right_on(y, 390), _logits_right_on(y, 300)], y, loss,
                        lower_is_better=True, confidence=0.95).index == 0
    assert choose_alpha([0.5, 1.0], [_logits_right_on(y, 300), _logits_right_on(y, 390)], y, loss,
                        lower_is_better=True, confidence=0.95).index == 1


def test_alpha_candidates_need_teachers_held_out_of_the_validation_split(make_recipe):
    with pytest.raises(RecipeError, match="alpha_candidates.*teachers.holdout = 'student_validation'"):
        make_recipe(distill={"alpha_candidates": [1.0]})
    with pytest.raises(RecipeError, match="alpha_candidates.*student.valid_fraction > 0"):
        make_recipe(distill={"alpha_candidates": [1.0]}, teachers={"holdout": "student_validation"},
                    student={"valid_fraction": 0.0})
    with pytest.raises(RecipeError, match="alpha_confidence.*a share in \\[0, 1\\)"):
        make_recipe(distill={"alpha_confidence": 1.0})


def test_a_distilled_run_keeps_the_alpha_its_validation_split_prefers(make_recipe, tmp_path):
    held = {"members": TINY_TEACHERS[:1], "holdout": "student_validation"}
    recipe = make_recipe(teachers=held, student={"epochs": 2}, distill={"alpha": 0.3, "alpha_candidates": [1.0]})
    metrics = train(TrainRequest(recipe, teacher="ensemble", out=tmp_path / "run"))
    search = metrics["student"]["alpha_search"]
    assert [s["alpha"] for s in search] == [0.3, 1.0] and sum(s["chosen"] for s in search) == 1
    chosen, choice = next(s for s in search if s["chosen"]), metrics["student"]["alpha_choice"]
    best = max(search, key=lambda s: (s["best_value"], s["alpha"]))
    assert choice["best_alpha"] == best["alpha"] and choice["reference_alpha"] == 1.0
    sure = choice["p_better"] is not None and choice["p_better"] >= choice["confidence"] == 0.95
    assert chosen["alpha"] == (best["alpha"] if sure else 1.0)
    assert metrics["student"]["loss"]["kd_alpha"] == chosen["alpha"]
    assert metrics["student"]["val"][chosen["monitor"]] == pytest.approx(chosen["best_value"])
    assert (tmp_path / "run" / "student" / "alpha" / "0.3" / "checkpoint.pt").exists()

    # α = 1 is exactly the student alone: same seed, split and weights, no teacher signal
    alone = train(TrainRequest(make_recipe(student={"epochs": 2}), teacher="none", out=tmp_path / "alone"))
    assert search[1]["best_value"] == pytest.approx(alone["student"]["stopping"]["best_value"], abs=1e-9)
    assert search[1]["best_step"] == alone["student"]["stopping"]["best_step"]


def test_a_reused_ensemble_must_have_left_out_the_validation_split(make_recipe, tmp_path):
    teachers = make_recipe(teachers={"members": TINY_TEACHERS[:1]}, student={"epochs": 1})
    train(TrainRequest(teachers, teacher="ensemble", out=tmp_path / "teachers"))
    choosing = make_recipe(teachers={"members": TINY_TEACHERS[:1], "holdout": "student_validation"},
                           student={"epochs": 1}, distill={"alpha_candidates": [1.0]})
    with pytest.raises(EdgekitError, match="did not leave out this student's validation split"):
        train(TrainRequest(choosing, teacher=str(tmp_path / "teachers"), out=tmp_path / "student"))


def test_the_cli_names_the_alpha_a_distilled_run_kept():
    from edgekit.cli.train import student_label

    base = {"name": "modern_tcn_xs", "distilled": True, "loss": {"kd_alpha": 0.5}}
    assert student_label({**base, "distilled": False}) == "modern_tcn_xs (alone)"
    assert student_label(base) == "modern_tcn_xs (distilled)"
    search = [{"alpha": 0.5}, {"alpha": 1.0}]
    assert student_label({**base, "alpha_search": search}) == "modern_tcn_xs (distilled, α 0.5 chosen on validation)"
    assert student_label({**base, "loss": {"kd_alpha": 1.0}, "alpha_search": search}) == \
        "modern_tcn_xs (its labels alone: α 1 chosen on validation)"


def test_a_run_stopped_inside_the_alpha_search_resumes_to_the_same_choice(make_recipe, tmp_path):
    from tests.train.test_resume import _stable, _Stopped, _stop_after

    recipe = make_recipe(teachers={"members": TINY_TEACHERS[:1], "holdout": "student_validation"},
                         train={"epochs": 2}, distill={"alpha_candidates": [1.0]})
    reference = train(TrainRequest(recipe, teacher="ensemble", out=tmp_path / "ref"))
    out = tmp_path / "stopped"
    with pytest.raises(_Stopped, match="α=1"):  # 2 folds x 2 epochs, α 0.5's 2, then α 1's first
        train(TrainRequest(recipe, teacher="ensemble", out=out), on_progress=_stop_after(7))
    starts = []
    resumed = train(TrainRequest(recipe, teacher="ensemble", out=out, resume=True),
                    on_progress=lambda p: starts.append((p.stage, p.epoch)) if p.kind == "start" else None)
    # α 0.5 finished: read back at its end; α 1 continues from its first epoch
    assert [epoch for _, epoch in starts] == [2, 1] and "α=1" in starts[1][0]
    assert _stable(resumed)["student"] == _stable(reference)["student"]

    # a half-made α search belongs to its recipe too: resuming it with another one is refused
    with pytest.raises(_Stopped, match="α=1"):
        train(TrainRequest(recipe, teacher="ensemble", out=tmp_path / "again"), on_progress=_stop_after(7))
    changed = make_recipe(teachers={"members": TINY_TEACHERS[:1], "holdout": "student_validation"},
                          train={"epochs": 2}, distill={"alpha_candidates": [1.0], "temperature": 3.0})
    with pytest.raises(EdgekitError, match="distill.temperature=2.0.*distill.temperature=3.0"):
        train(TrainRequest(changed, teacher="ensemble", out=tmp_path / "again", resume=True))
