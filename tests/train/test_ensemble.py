"""The teacher ensemble end to end on tiny simulated data: run directory, OOF, stacking, reuse."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgekit.errors import EdgekitError
from edgekit.rundir import RunDir, load_model
from edgekit.train.ensemble import Stacker, fit_stacker
from edgekit.train.run import TrainRequest, train
from edgekit.train.scoring import log_loss


@pytest.fixture(scope="module")
def ensemble_run(tmp_path_factory, sim_table):
    from edgekit.train.recipe import recipe_from_dict
    from tests.train.conftest import tiny_recipe

    out = tmp_path_factory.mktemp("runs") / "ens"
    recipe = recipe_from_dict(tiny_recipe(sim_table, train={"epochs": 1}))
    stages = []
    result = train(TrainRequest(recipe, teacher="ensemble", out=out), on_stage=lambda n, i: stages.append(n))
    return out, result, stages, recipe


def test_run_directory_holds_everything_a_later_step_needs(ensemble_run):
    out, result, stages, recipe = ensemble_run
    run = RunDir(out)
    assert stages == ["data", "teachers", "student"]
    for path in (run.recipe, run.feature_spec, run.scaler, run.data, run.metrics, out / "confusion.png",
                 run.teachers / "ensemble.json", run.teachers / "oof_logits.npy", run.teachers / "test_logits.npy",
                 run.student / "model.pt", run.student / "model.json"):
        assert path.exists(), path
    data = json.loads(run.data.read_text())
    n_train = data["train_sequences"]
    oof = np.load(run.teachers / "oof_logits.npy")
    assert oof.shape == (n_train, 18) and np.isfinite(oof).all()
    # every training sequence got its OOF prediction from the fold that held it out
    for member in ("wavenet1d", "cnn_bigru_attn"):
        member_oof = np.load(run.teachers / member / "oof_logits.npy")
        for fold, val in enumerate(data["folds"]):
            np.testing.assert_allclose(member_oof[val], np.load(run.member_fold(member, fold) / "val_logits.npy"))
        assert (run.member_fold(member, 0) / "checkpoint.pt").exists()
    assert np.load(run.teachers / "test_logits.npy").shape == (data["test_sequences"]["test"], 18)
    student = load_model(run.student)
    assert student.num_classes == 18
    metrics = json.loads(run.metrics.read_text())
    assert metrics["student"]["distilled"] is True and metrics["student"]["params"] > 0
    assert set(metrics["teachers"]["test"]["test"]) == {"average", "stacked"}
    for key in ("accuracy", "macro_f1", "cmi_score"):
        assert 0.0 <= metrics["student"]["test"]["test"][key] <= 1.0
    assert "per_class" in metrics["student"] and result["run_dir"] == str(out)
    assert run.recipe.read_text().startswith("#")


def test_teacher_run_dir_is_reused_and_none_trains_the_student_alone(ensemble_run, sim_table, tmp_path):
    out, _, stages, recipe = ensemble_run
    # --teacher RUN_DIR --unlabeled: the saved fold models pseudo-label extra sequences
    reused = train(TrainRequest(recipe, teacher=str(out), out=tmp_path / "reuse", unlabeled=sim_table))
    assert reused["student"]["distilled"] is True and reused["teachers"]["members"]
    assert reused["student"]["pseudo_labelled"] == 72
    alone = train(TrainRequest(recipe, teacher="none", student="modern_tcn_xs", out=tmp_path / "alone"))
    assert alone["student"]["distilled"] is False and alone["student"]["name"] == "modern_tcn_xs"
    assert "teachers" not in alone


def test_finished_folds_are_reused_and_a_changed_recipe_is_refused(ensemble_run):
    out, first, _, recipe = ensemble_run
    stages = []
    again = train(TrainRequest(recipe, teacher="ensemble", out=out),
                  on_progress=lambda p: stages.append(p.stage) if p.kind == "start" else None)
    assert again["teachers"]["members"]["wavenet1d"]["cv"] == first["teachers"]["members"]["wavenet1d"]["cv"]
    assert not [s for s in stages if "fold" in s]  # no teacher fold was trained again
    import copy

    changed = copy.deepcopy(recipe)
    changed.train.optim = type(recipe.train.optim)(lr=1e-4)
    with pytest.raises(EdgekitError, match=r"train\.optim\.lr=0\.003.*train\.optim\.lr=0\.0001.*--force"):
        train(TrainRequest(changed, teacher="ensemble", out=out))


def test_unknown_teacher_mode_names_the_choices(ensemble_run, tmp_path):
    recipe = ensemble_run[3]
    with pytest.raises(EdgekitError, match="ensemble, none"):
        train(TrainRequest(recipe, teacher="not_a_teacher", out=tmp_path / "x"))


def test_stacking_prefers_the_informative_member_and_beats_averaging_on_oof():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, 400)
    good = np.eye(4)[labels] * 3 + rng.normal(0, 1, (400, 4))
    noise = rng.normal(0, 3, (400, 4))
    for method in ("nonneg_logloss", "logistic"):
        stacker = fit_stacker(method, [good, noise], labels)
        stacked = stacker([good, noise])
        average = Stacker.average(2, 4)([good, noise])
        assert log_loss(labels, stacked) < log_loss(labels, average)
        again = Stacker.from_dict(json.loads(json.dumps(stacker.to_dict())))
        np.testing.assert_allclose(again([good, noise]), stacked, rtol=1e-5)
    weights = fit_stacker("nonneg_logloss", [good, noise], labels).weight
    assert weights[:4].sum() > 5 * weights[4:].sum()


def test_cli_train_renders_progress_and_json(sim_table, tmp_path):
    from click.testing import CliRunner

    from edgekit.cli.train import train as train_command
    from edgekit.train.recipe import dump_recipe, recipe_from_dict
    from tests.train.conftest import tiny_recipe

    raw = tiny_recipe(sim_table, train={"epochs": 1})
    path = tmp_path / "tiny.toml"
    path.write_text(dump_recipe(recipe_from_dict(raw), header=f"edgekit train --recipe {path}"))
    runner = CliRunner()
    shown = runner.invoke(train_command, ["--recipe", str(path), "--teacher", "none", "--out", str(tmp_path / "a"),
                                          "student.epochs=1"], catch_exceptions=False)
    assert shown.exit_code == 0, shown.output
    assert "(alone)" in shown.output and "total" in shown.output  # the results table was rendered
    as_json = runner.invoke(train_command, ["--recipe", str(path), "--teacher", "none", "--student", "modern_tcn_xs",
                                            "--out", str(tmp_path / "b"), "--json"], catch_exceptions=False)
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.output)["student"]["name"] == "modern_tcn_xs"
