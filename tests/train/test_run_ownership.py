"""A run directory belongs to the recipe that trained it: a changed recipe is refused before any
write, `--force` retrains what changed and removes what was made from it (export/), and a folder
that is not a run is never written into unasked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgekit.errors import EdgekitError
from edgekit.resources import recipes_dir
from edgekit.rundir import RunDir
from edgekit.train.fingerprint import model_fingerprint, read_stage
from edgekit.train.recipe import load_recipe
from edgekit.train.run import TrainRequest, train

QUICK = ["train.epochs=1", "data.simulate_sequences=120", "data.length=48"]


def _recipe(*overrides: str):
    return load_recipe(recipes_dir() / "sim" / "quickstart.toml", [*QUICK, *overrides])


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _fake_export(run: RunDir) -> Path:
    stale = run.export / "student.step.fp32.onnx"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_bytes(b"an older student")
    return stale


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("owned") / "X"
    train(TrainRequest(_recipe(), teacher="none", out=out))
    return out


@pytest.mark.parametrize("override, student, key, old, new", [
    ("data.simulate_seed=1", None, "data.simulate_seed", "0", "1"),
    ("train.optim.lr=0.001", None, "train.optim.lr", "0.003", "0.001"),
    ("distill.alpha=0.7", None, "distill.alpha", "0.3", "0.7"),
    (None, "modern_tcn_xs", "student.name", "mbconv_tcn_xs", "modern_tcn_xs"),
])
def test_resume_with_a_changed_recipe_names_the_key_and_writes_nothing(finished_run, override, student, key, old, new):
    before = _snapshot(finished_run)
    recipe = _recipe(*([override] if override else []))
    with pytest.raises(EdgekitError) as err:
        train(TrainRequest(recipe, teacher="none", student=student, out=finished_run, resume=True))
    message = str(err.value)
    assert "\n" not in message and f"{key}={old}" in message and f"{key}={new}" in message
    assert "--force" in message and "new --out" in message
    assert "digest" not in message  # derived inputs are named only when no recipe key differs
    assert _snapshot(finished_run) == before  # recipe.toml, scaler.json, data.json, metrics: untouched


def test_the_cli_reports_a_refused_resume_in_one_line(finished_run):
    from click.testing import CliRunner

    from edgekit.cli import main

    before = _snapshot(finished_run)
    result = CliRunner().invoke(main, ["train", "--recipe", str(recipes_dir() / "sim" / "quickstart.toml"),
                                       "--teacher", "none", *QUICK, "distill.alpha=0.7", "--out", str(finished_run),
                                       "--resume", "--json"])
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and "distill.alpha=0.3" in result.output
    assert _snapshot(finished_run) == before


def test_a_folder_that_is_not_a_run_is_refused_unless_forced(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "data.json").write_text('{"mine": 1}')
    with pytest.raises(EdgekitError, match="not an edgekit run directory.*--force"):
        train(TrainRequest(_recipe(), teacher="none", out=out))
    assert _snapshot(out) == {"data.json": b'{"mine": 1}'}
    with pytest.raises(EdgekitError, match="not an edgekit run directory"):  # --resume does not claim it either
        train(TrainRequest(_recipe(), teacher="none", out=out, resume=True))

    train(TrainRequest(_recipe(), teacher="none", out=out, force=True))
    assert RunDir(out).is_run() and (out / "student" / "model.pt").exists()
    train(TrainRequest(_recipe(), teacher="none", out=out))  # a run now: no --force needed


def test_retraining_the_student_removes_its_export_and_records_its_fingerprint(tmp_path):
    run = RunDir(tmp_path / "run")
    first = train(TrainRequest(_recipe(), teacher="none", out=run.root))
    fingerprint = read_stage(run.student).fingerprint
    assert first["student"]["fingerprint"] == fingerprint == model_fingerprint(run.student)

    # --resume of the same recipe continues the finished student: its export stays valid
    _fake_export(run)
    train(TrainRequest(_recipe(), teacher="none", out=run.root, resume=True))
    assert (run.export / "student.step.fp32.onnx").exists()

    # a plain rerun trains the student from scratch: the old student's export goes with it
    _fake_export(run)
    train(TrainRequest(_recipe(), teacher="none", out=run.root))
    assert not run.export.exists() and model_fingerprint(run.student) == fingerprint

    # another recipe needs --force, which replaces the student, its export and its metrics
    _fake_export(run)
    with pytest.raises(EdgekitError, match=r"train\.optim\.lr=0\.003.*--force"):
        train(TrainRequest(_recipe("train.optim.lr=0.001"), teacher="none", out=run.root))
    assert run.export.exists()
    forced = train(TrainRequest(_recipe("train.optim.lr=0.001"), teacher="none", out=run.root, force=True))
    assert not run.export.exists()
    assert forced["student"]["fingerprint"] == model_fingerprint(run.student) != fingerprint
    assert json.loads(run.metrics.read_text())["student"]["fingerprint"] == forced["student"]["fingerprint"]
    assert read_stage(run.student).inputs["train"]["optim"]["lr"] == 0.001

    (run.student / "model.pt").write_bytes(b"not the trained weights")
    with pytest.raises(EdgekitError, match="model.pt is not the model"):
        model_fingerprint(run.student)


def test_a_run_without_fingerprints_is_not_resumed(tmp_path):
    out = tmp_path / "old"
    train(TrainRequest(_recipe(), teacher="none", out=out))
    (out / "student" / "stage.json").unlink()  # as written by an edgekit before stage fingerprints
    with pytest.raises(EdgekitError, match="student with no stage.json fingerprint"):
        train(TrainRequest(_recipe(), teacher="none", out=out, resume=True))


def test_retrained_teachers_take_the_student_and_its_export_with_them(make_recipe, tmp_path):
    one = [{"name": "wavenet1d", "options": {"chs": 8, "dilations": [1, 2], "drop": 0.0}}]
    recipe = make_recipe(teachers={"members": one}, train={"epochs": 1})
    run = RunDir(tmp_path / "ens")
    train(TrainRequest(recipe, teacher="ensemble", out=run.root))
    ensemble_fp = json.loads((run.teachers / "ensemble.json").read_text())["fingerprint"]
    assert read_stage(run.student).inputs["teachers"]["fingerprint"] == ensemble_fp
    _fake_export(run)

    wider = make_recipe(teachers={"members": [{**one[0], "options": {**one[0]["options"], "chs": 16}}]},
                        train={"epochs": 1})
    before = _snapshot(run.root)
    with pytest.raises(EdgekitError, match=r"teachers\.members\.0\.options\.chs=8.*chs=16"):
        train(TrainRequest(wider, teacher="ensemble", out=run.root, resume=True))
    assert _snapshot(run.root) == before

    # --teacher none on the same data keeps the teachers, but the student it replaces needs --force
    with pytest.raises(EdgekitError, match="teachers.fingerprint"):
        train(TrainRequest(recipe, teacher="none", out=run.root))

    starts = []
    train(TrainRequest(wider, teacher="ensemble", out=run.root, force=True),
          on_progress=lambda p: starts.append(p.stage) if p.kind == "start" else None)
    assert [s for s in starts if "fold" in s] == ["wavenet1d fold 1/2", "wavenet1d fold 2/2"]  # retrained
    assert not run.export.exists()
    assert read_stage(run.member_fold("wavenet1d", 0)).inputs["teachers"]["members"]["0"]["options"]["chs"] == 16
    new_fp = json.loads((run.teachers / "ensemble.json").read_text())["fingerprint"]
    assert new_fp != ensemble_fp and read_stage(run.student).inputs["teachers"]["fingerprint"] == new_fp
