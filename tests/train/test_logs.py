"""Experiment logs (`[logging]`, edgekit/train/logs.py): a CSV per stage written from the loop's
progress events, TensorBoard and MLflow when enabled, all linked from metrics.json; a resumed
stage logs each step once."""

from __future__ import annotations

import csv
import json
import sys

import pytest

from edgekit.errors import EdgekitError
from edgekit.train.run import TrainRequest, train
from tests.train.conftest import TINY_TEACHERS

# a few steps per stage at batch 8, evaluated every 4 steps and at the budget's end
SMALL = {"train": {"epochs": 2, "batch_size": 8, "eval_every_steps": 4}}


@pytest.fixture(autouse=True)
def no_plots(monkeypatch):
    monkeypatch.setattr("edgekit.train.run._plots", lambda *args: None)  # matplotlib: seconds, nothing tested here


def _rows(path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _check_against_history(rows: list[dict[str, str]], history: list[dict]) -> None:
    """One row per step; each evaluation's record is in the row of its step, and only there."""
    assert [int(r["step"]) for r in rows] == list(range(1, history[-1]["step"] + 1))
    evaluated = {rec["step"]: rec for rec in history}
    for row in rows:
        assert float(row["lr"]) > 0 and float(row["loss"]) > 0 and float(row["samples_per_s"]) > 0
        record = evaluated.get(int(row["step"]))
        if record is None:
            assert row["val_macro_f1"] == "" and row["train_loss"] == ""
            continue
        for key in ("val_macro_f1", "val_log_loss", "train_loss", "lr", "epoch"):
            assert float(row[key]) == pytest.approx(record[key], rel=1e-9), (row["step"], key)


def test_every_stage_writes_its_log_and_metrics_json_links_them(make_recipe, tmp_path):
    recipe = make_recipe(teachers={"members": TINY_TEACHERS[:1]}, **SMALL)
    out = tmp_path / "run"
    result = train(TrainRequest(recipe, teacher="ensemble", out=out))

    stages = json.loads((out / "metrics.json").read_text())["logs"]["stages"]
    assert stages == result["logs"]["stages"]
    assert sorted(stages) == ["student", "teachers/wavenet1d/fold0", "teachers/wavenet1d/fold1"]
    for folder, links in stages.items():
        assert links == {"csv": f"{folder}/log.csv"}  # TensorBoard and MLflow are off by default
        done = out / folder / ("report.json" if folder == "student" else "done.json")
        rows = _rows(out / links["csv"])
        _check_against_history(rows, json.loads(done.read_text())["history"])
    student = _rows(out / "student" / "log.csv")
    assert {"class", "kd", "physics"} <= set(student[0])  # every loss term of the distilled student


class _Stopped(Exception):
    pass


def test_a_stage_stopped_mid_way_and_resumed_logs_each_step_once_in_csv_and_tensorboard(make_recipe, tmp_path):
    pytest.importorskip("tensorboard", reason="tensorboard is not installed (pip install 'edgekit[tensorboard]')")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    recipe = make_recipe(**SMALL, logging={"tensorboard": True})
    out = tmp_path / "run"

    def stop_at_step_6(p):  # two steps past the checkpoint of step 4: those are trained again
        if p.kind == "step" and p.epoch * p.steps_per_epoch + p.step == 6:
            raise _Stopped

    with pytest.raises(_Stopped):
        train(TrainRequest(recipe, teacher="none", out=out), on_progress=stop_at_step_6)
    before = _rows(out / "student" / "log.csv")
    assert [int(r["step"]) for r in before] == [1, 2, 3, 4, 5, 6]

    result = train(TrainRequest(recipe, teacher="none", out=out, resume=True))
    assert result["logs"]["stages"]["student"] == {"csv": "student/log.csv", "tensorboard": "student/tensorboard"}
    rows = _rows(out / "student" / "log.csv")
    _check_against_history(rows, json.loads((out / "student" / "report.json").read_text())["history"])
    # steps 5 and 6 were trained twice, the same way (resume is exact on CPU), and are logged once
    assert [float(r["loss"]) for r in rows[:6]] == pytest.approx([float(r["loss"]) for r in before], rel=1e-6)

    events = EventAccumulator(str(out / "student" / "tensorboard"))  # the stopped run's file and the resumed one's
    events.Reload()
    assert {"loss", "class", "lr", "samples_per_s", "val_macro_f1", "train_loss"} <= set(events.Tags()["scalars"])
    for tag in ("loss", "lr", "val_macro_f1"):
        logged = [(int(r["step"]), float(r[tag])) for r in rows if r[tag] != ""]
        read = [(e.step, e.value) for e in events.Scalars(tag)]
        assert [step for step, _ in read] == [step for step, _ in logged]  # each step once
        assert [v for _, v in read] == pytest.approx([v for _, v in logged], rel=1e-6)


def test_mlflow_gets_a_run_with_the_recipe_and_a_nested_run_per_stage(make_recipe, tmp_path, monkeypatch):
    mlflow = pytest.importorskip("mlflow", reason="mlflow is not installed (pip install 'edgekit[mlflow]')")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 asks for it to use a file: store
    uri = (tmp_path / "mlruns").as_uri()
    logging = {"mlflow": True, "mlflow_tracking_uri": uri, "mlflow_experiment": "edgekit-test"}
    out = tmp_path / "run"
    result = train(TrainRequest(make_recipe(**SMALL, logging=logging), teacher="none", out=out))

    link = result["logs"]["mlflow"]
    client = mlflow.MlflowClient(uri)
    parent = client.get_run(link["run_id"])
    assert parent.info.status == "FINISHED" and parent.info.run_name == "run"
    assert parent.data.params["train.optim.lr"] == "0.003" and parent.data.params["student.name"] == "mbconv_tcn_xs"
    assert {a.path for a in client.list_artifacts(link["run_id"])} == {"metrics.json", "recipe.toml"}

    child = client.get_run(result["logs"]["stages"]["student"]["mlflow_run_id"])
    assert child.data.tags["mlflow.parentRunId"] == link["run_id"] and child.data.tags["edgekit.stage"] == "student"
    rows = _rows(out / "student" / "log.csv")
    history = json.loads((out / "student" / "report.json").read_text())["history"]
    assert [m.step for m in client.get_metric_history(child.info.run_id, "loss")] == [int(r["step"]) for r in rows]
    assert [m.step for m in client.get_metric_history(child.info.run_id, "val_macro_f1")] == [r["step"] for r in history]


def test_an_enabled_sink_without_its_package_names_the_extra_before_any_work(make_recipe, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # as if not installed
    out = tmp_path / "run"
    with pytest.raises(EdgekitError, match=r"logging.tensorboard = true .*pip install 'edgekit\[tensorboard\]'"):
        train(TrainRequest(make_recipe(logging={"tensorboard": True}), teacher="none", out=out))
    assert not out.exists()
