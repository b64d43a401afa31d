"""Function matching (`distill.mode = "function_matching"`): the ensemble run online on the student's
augmented view, its parity with the ensemble's own prediction path, a whole run, and exact resume."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from edgekit.errors import EdgekitError
from edgekit.rundir import RunDir
from edgekit.train.augment import AugmentConfig
from edgekit.train.checkpoint import load_checkpoint
from edgekit.train.config import TrainConfig
from edgekit.train.ensemble import predict_ensemble
from edgekit.train.loop import FitOptions, fit
from edgekit.train.losses import LossConfig, Objective
from edgekit.train.online_teacher import OnlineTeacher
from edgekit.train.recipe import RecipeError, recipe_from_dict
from edgekit.train.run import TrainRequest, train
from edgekit.train.tensors import Arrays, SequenceTensors
from tests.train.conftest import tiny_recipe

CPU = torch.device("cpu")
# eval_every_steps 3: the student (7 steps an epoch with the pseudo-labelled sequences) checkpoints inside an epoch
FM = {"train": {"epochs": 2, "eval_every_steps": 3}, "distill": {"mode": "function_matching"}}


class _Stopped(Exception):
    pass


def _stop_at_student_evaluation(p) -> None:
    if p.kind == "epoch" and p.stage.startswith("student"):
        raise _Stopped(p.stage)


@pytest.fixture(scope="module")
def fm_run(sim_table, tmp_path_factory):
    """A whole tiny run (2 members × 2 folds, stacked, pseudo-labelled extras) in function matching mode."""
    recipe = recipe_from_dict(tiny_recipe(sim_table, **FM))
    out = tmp_path_factory.mktemp("fm") / "run"
    stages = []
    metrics = train(TrainRequest(recipe, teacher="ensemble", out=out, unlabeled=sim_table),
                    on_progress=lambda p: stages.append(p.stage) if p.kind == "start" else None)
    return recipe, RunDir(out), metrics, stages


def _sequences(run: RunDir, n: int, seed: int = 0) -> tuple[Arrays, int]:
    """`n` random right-padded sequences with the run's channels, and its class count."""
    data = run.read_json(run.data)
    rng = np.random.default_rng(seed)
    lengths = rng.integers(12, 33, n)
    lengths[0] = 32
    mask = np.arange(32)[None, :] < lengths[:, None]
    x = (rng.standard_normal((n, 32, len(data["channels"]))) * mask[..., None]).astype(np.float32)
    return Arrays(x, mask, np.zeros(n, np.int64)), len(data["class_names"])


@pytest.mark.parametrize("kind", ["stacked", "average"])
def test_the_online_teacher_equals_the_ensembles_prediction_on_plain_inputs(fm_run, kind):
    _, run, _, _ = fm_run
    arrays, k = _sequences(run, 5)
    teacher = OnlineTeacher(run, k, device=CPU, kind=kind)
    assert teacher.models == 4  # every member × every fold
    assert all(not p.requires_grad for folds in teacher.members for m in folds for p in m.parameters())
    expected = predict_ensemble(run, arrays, k, device=CPU, batch_size=64, kind=kind)
    got = teacher(torch.from_numpy(arrays.x), torch.from_numpy(arrays.mask))
    assert got.dtype == torch.float32 and got.shape == (5, k)
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-5)


def test_the_objective_gets_the_teachers_answer_on_the_augmented_view(fm_run):
    from edgekit.models import create_model

    _, run, _, _ = fm_run
    one, k = _sequences(run, 1)
    # the same sequence twice: whatever the batch order, both rows' un-augmented answer is the same
    arrays = Arrays(np.repeat(one.x, 2, 0), np.repeat(one.mask, 2, 0), np.zeros(2, np.int64))
    # plain averaging: the tiny fixture's stacker may weight every member 0 (a uniform, input-free answer)
    teacher = OnlineTeacher(run, k, device=CPU, kind="average")
    torch.manual_seed(0)
    student = create_model("mbconv_tcn_xs", in_chs=arrays.x.shape[2], num_classes=k)
    seen, received = [], []
    forward_train = student.forward_train

    def spy_forward(x, mask):
        seen.append((x.clone(), mask.clone()))
        return forward_train(x, mask)

    student.forward_train = spy_forward  # what `train_forward` hands the loop on one CPU process
    objective = Objective(LossConfig(physics_weight=0.0), k)

    def spy_objective(outputs, target, *, teacher_logits=None, **kw):
        received.append(teacher_logits.clone())
        return objective(outputs, target, teacher_logits=teacher_logits, **kw)

    cfg = TrainConfig(epochs=3, batch_size=2, augment=AugmentConfig(jitter_std=0.5))
    fit(student, SequenceTensors(arrays, k), cfg, spy_objective,
        FitOptions(epochs=3, seed=0, device=CPU, teacher_fn=teacher))
    assert len(received) == len(seen) == 3
    plain = teacher(torch.from_numpy(arrays.x), torch.from_numpy(arrays.mask))
    for (x, mask), logits in zip(seen, received):
        assert not torch.equal(x, torch.from_numpy(arrays.x))  # the student saw an augmented view ...
        torch.testing.assert_close(logits, teacher(x, mask), rtol=0, atol=0)  # ... and so did the teachers
        assert not torch.allclose(logits, plain, atol=1e-4)  # not a fixed label of the sequence
        assert not torch.allclose(logits[0], logits[1], atol=1e-4)  # each view its own answer
    assert not torch.allclose(received[0], received[1], atol=1e-4)


def test_fixed_teacher_logits_and_an_online_teacher_are_refused_together(fm_run):
    _, run, _, _ = fm_run
    arrays, k = _sequences(run, 2)
    from edgekit.models import create_model

    student = create_model("mbconv_tcn_xs", in_chs=arrays.x.shape[2], num_classes=k)
    data = SequenceTensors(arrays, k, teacher_logits=np.zeros((2, k), np.float32))
    with pytest.raises(EdgekitError, match="one teacher signal"):
        fit(student, data, TrainConfig(epochs=1), Objective(LossConfig(), k),
            FitOptions(epochs=1, seed=0, device=CPU, teacher_fn=lambda x, mask, demo: x))


def test_a_function_matching_run_records_its_mode(fm_run):
    _, run, metrics, stages = fm_run
    assert stages[-1] == "student mbconv_tcn_xs (function matching)"
    report = json.loads((run.student / "report.json").read_text())
    for student in (report, metrics["student"]):
        assert student["loss"]["mode"] == "function_matching" and student["distilled"]
        assert student["pseudo_labelled"] > 0  # the pseudo-labelled extras joined the training set
    assert all("train_kd" in record for record in report["history"])  # the online teachers fed the KD term
    assert json.loads((run.student / "stage.json").read_text())["inputs"]["distill"]["mode"] == "function_matching"
    assert (run.student / "model.pt").exists()


def test_the_mode_is_a_checked_choice_and_part_of_the_students_fingerprint(fm_run, sim_table):
    recipe, run, _, _ = fm_run
    assert recipe_from_dict(tiny_recipe(sim_table)).distill.mode == "oof"
    with pytest.raises(RecipeError, match="distill.mode.*'oof'.*'function_matching'"):
        recipe_from_dict(tiny_recipe(sim_table, distill={"mode": "online"}))
    oof = recipe_from_dict(tiny_recipe(sim_table, **{**FM, "distill": {"mode": "oof"}}))
    with pytest.raises(EdgekitError, match="distill.mode=function_matching.*distill.mode=oof"):
        train(TrainRequest(oof, teacher="ensemble", out=run.root, unlabeled=sim_table))  # refused before any write


def test_resume_inside_the_student_stage_ends_with_identical_weights(fm_run, sim_table, tmp_path):
    recipe, run, metrics, _ = fm_run
    out = tmp_path / "stopped"
    shutil.copytree(run.root, out)  # the finished folds are reused, the student trains from scratch
    with pytest.raises(_Stopped):
        train(TrainRequest(recipe, teacher="ensemble", out=out, unlabeled=sim_table),
              on_progress=_stop_at_student_evaluation)
    state = load_checkpoint(out / "student" / "checkpoint.pt")
    assert state["step"] == 3 and state["rng"] is not None  # stopped inside the first epoch
    resumed = train(TrainRequest(recipe, teacher="ensemble", out=out, unlabeled=sim_table, resume=True))
    ours = torch.load(out / "student" / "model.pt", weights_only=True)
    reference = torch.load(run.student / "model.pt", weights_only=True)
    assert ours.keys() == reference.keys()
    assert all(torch.equal(ours[key], reference[key]) for key in reference)
    np.testing.assert_array_equal(np.load(out / "student" / "test_logits.npy"),
                                  np.load(run.student / "test_logits.npy"))
    history = [json.loads((folder / "report.json").read_text())["history"] for folder in (out / "student", run.student)]
    assert history[0] == history[1] and resumed["student"]["val"] == metrics["student"]["val"]
