"""`edgekit sweep`: trials scored on validation only, pruning, resume from storage, the best recipe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from edgekit.errors import EdgekitError
from edgekit.train.checkpoint import load_checkpoint
from edgekit.train.recipe import dump_recipe, load_recipe
from edgekit.train.search_space import SpaceError, load_space
from edgekit.train.sweep import SweepError, SweepRequest, sweep

optuna = pytest.importorskip("optuna")

LR_SPACE = '[space."train.optim.lr"]\nlow = 1e-3\nhigh = 1e-2\nlog = true\n'


def _space(tmp_path: Path, text: str = LR_SPACE) -> Path:
    path = tmp_path / "space.toml"
    path.write_text(text)
    return path


def test_sweep_scores_validation_writes_the_best_recipe_and_resumes(make_recipe, tmp_path):
    recipe = make_recipe()
    out = tmp_path / "sweep"
    result = sweep(SweepRequest(recipe, load_space(_space(tmp_path)), trials=2, out=out))
    assert [t.state for t in result.trials] == ["COMPLETE", "COMPLETE"] and result.metric == "cmi_score"
    # trial 0 runs the recipe's own value, so the table shows what the search gained over it
    assert result.trials[0].baseline and result.trials[0].params == {"train.optim.lr": 3e-3}
    for t in result.trials:  # the objective is the validation score; the test split is never evaluated
        student = out / f"trial_{t.number}" / "student"
        report = json.loads((student / "report.json").read_text())
        assert t.value == report["val"]["cmi_score"] and report["test"] == {}
        assert not list(student.glob("*test*"))
    best = load_recipe(out / "best_recipe.toml")
    assert best.train.optim.lr == result.best.params["train.optim.lr"]
    assert result.best.value == max(t.value for t in result.trials)

    # a trial killed while running (never finished) does not count: the rerun runs the one missing
    study = optuna.load_study(study_name=result.study_name, storage=result.storage)
    study.ask()
    recipe_file = tmp_path / "tiny.toml"
    recipe_file.write_text(dump_recipe(recipe))
    from edgekit.cli import main

    cli = CliRunner().invoke(main, ["sweep", "--recipe", str(recipe_file), "--space", str(_space(tmp_path)),
                                    "--trials", "3", "--out", str(out), "--json"], catch_exceptions=False)
    assert cli.exit_code == 0, cli.output
    resumed = json.loads(cli.output)
    assert resumed["ran"] == 1 and [t["state"] for t in resumed["trials"]].count("COMPLETE") == 3

    # the study was made from this space: another one is refused before any training
    other = load_space(_space(tmp_path, '[space."train.batch_size"]\nchoices = [8, 16]\n'))
    with pytest.raises(SweepError, match="another recipe, space, stage or teacher run.*train.batch_size"):
        sweep(SweepRequest(recipe, other, trials=4, out=out))


def test_a_pruned_trial_stops_at_its_first_validation(make_recipe, tmp_path):
    out = tmp_path / "sweep"
    always = optuna.pruners.ThresholdPruner(lower=2.0)  # no score reaches 2
    result = sweep(SweepRequest(make_recipe(train={"epochs": 3}), load_space(_space(tmp_path)), trials=1, out=out),
                   pruner=always)
    (trial,) = result.trials
    assert trial.state == "PRUNED" and trial.validations == 1 and result.best is None
    student = out / "trial_0" / "student"
    assert load_checkpoint(student / "checkpoint.pt")["epoch"] == 1 and not (student / "model.pt").exists()
    assert not (out / "best_recipe.toml").exists()


@pytest.mark.parametrize("text, match", [
    ('[space."train.optim.lrr"]\nlow = 1e-3\nhigh = 1e-2\n', r"'train.optim.lrr' is not a key.*did you mean train.optim.lr"),
    ('[space."train.batch_size"]\nchoices = [0, 16]\n', r"'train.batch_size': the recipe refuses 0.*positive"),
])
def test_a_space_the_recipe_refuses_is_named_before_anything_is_written(make_recipe, tmp_path, text, match):
    with pytest.raises(SpaceError, match=match):
        sweep(SweepRequest(make_recipe(), load_space(_space(tmp_path, text)), trials=1, out=tmp_path / "s"))
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("text, match", [
    ('[space."train.optim.lr"]\nlow = 1e-2\nhigh = 1e-3\n', "is not below high"),
    ('[space."train.optim.lr"]\nlo = 1e-3\nhigh = 1e-2\n', "unknown key.*allowed.*low"),
    ('[space."train.optim.lr"]\nlow = 0.0\nhigh = 1e-2\nlog = true\n', "log = true needs low > 0"),
    ('[space."train.batch_size"]\nchoices = [16]\nlow = 1\n', "either"),
])
def test_a_malformed_space_names_the_key(tmp_path, text, match):
    with pytest.raises(SpaceError, match=match):
        load_space(_space(tmp_path, text))


KD_SPACE = '[space."distill.alpha"]\nchoices = [0.5, 0.9]\n'


def test_a_student_sweep_distils_from_a_teacher_run_so_alpha_is_chosen_by_validation(make_recipe, tmp_path):
    from edgekit.train.run import TrainRequest, train

    recipe = make_recipe(teachers={"members": [{"name": "resnet1d", "options": {"stem_chs": 8, "stages": [
        {"out_chs": 8}]}}]}, train={"epochs": 1})
    teachers = tmp_path / "teachers"
    train(TrainRequest(recipe, out=teachers))
    # KD keys without teachers to distil from are refused before anything runs
    with pytest.raises(SweepError, match="distill.alpha.*expected --teacher RUN_DIR"):
        sweep(SweepRequest(recipe, load_space(_space(tmp_path, KD_SPACE)), trials=1, out=tmp_path / "no"))
    with pytest.raises(SweepError, match="holds no trained ensemble"):
        sweep(SweepRequest(recipe, load_space(_space(tmp_path, KD_SPACE)), trials=1, out=tmp_path / "no",
                           teacher=tmp_path))
    # teachers that saw the student's validation split cannot choose distill keys on it
    with pytest.raises(EdgekitError, match="did not leave out this student's validation split"):
        sweep(SweepRequest(recipe, load_space(_space(tmp_path, KD_SPACE)), trials=1, out=tmp_path / "leaky",
                           teacher=teachers))
    recipe = make_recipe(teachers={"members": [{"name": "resnet1d", "options": {"stem_chs": 8, "stages": [
        {"out_chs": 8}]}}], "holdout": "student_validation"}, train={"epochs": 1})
    teachers = tmp_path / "held_out_teachers"
    train(TrainRequest(recipe, out=teachers))
    out = tmp_path / "kd"
    result = sweep(SweepRequest(recipe, load_space(_space(tmp_path, KD_SPACE)), trials=2, out=out, teacher=teachers))
    assert result.trials[0].params == {"distill.alpha": 0.5}  # the recipe's own value first
    for t in result.trials:  # each trial trained with its own alpha
        assert load_recipe(out / f"trial_{t.number}" / "recipe.toml").distill.alpha == t.params["distill.alpha"]
    for t in result.trials:
        report = json.loads((out / f"trial_{t.number}" / "student" / "report.json").read_text())
        assert report["distilled"] and t.value == report["val"]["cmi_score"]
    assert load_recipe(out / "best_recipe.toml").distill.alpha == result.best.params["distill.alpha"]
