"""kill -9 mid-training, then --resume: the same metrics as an uninterrupted run."""

from __future__ import annotations

import json

import pytest

from edgekit.train.checkpoint import load_checkpoint
from edgekit.train.loop import SimulatedKill
from edgekit.train.run import TrainRequest, train

VOLATILE = {"seconds", "train_samples_per_s", "timings"}


def _stable(obj):
    if isinstance(obj, dict):
        return {k: _stable(v) for k, v in obj.items() if k not in VOLATILE}
    if isinstance(obj, list):
        return [_stable(v) for v in obj]
    return obj


def test_resume_after_a_kill_ends_with_the_same_metrics(make_recipe, tmp_path):
    recipe = make_recipe(teachers={"members": [{"name": "wavenet1d", "options": {"chs": 8, "dilations": [1, 2]}}]},
                         train={"epochs": 3, "ema_decay": 0.9})
    reference = train(TrainRequest(recipe, teacher="ensemble", out=tmp_path / "ref"))

    out = tmp_path / "killed"
    with pytest.raises(SimulatedKill):  # killed after epoch 1 of fold 0
        train(TrainRequest(recipe, teacher="ensemble", out=out, stop_after_epochs=1))
    fold0 = out / "teachers" / "wavenet1d" / "fold0"
    state = load_checkpoint(fold0 / "checkpoint.pt")
    assert state is not None and state["epoch"] == 1 and not (fold0 / "done.json").exists()

    # 5 more teacher epochs (2 folds x 3 in all), then killed after the student's first epoch
    with pytest.raises(SimulatedKill, match="student"):
        train(TrainRequest(recipe, teacher="ensemble", out=out, resume=True, stop_after_epochs=6))
    assert load_checkpoint(out / "student" / "checkpoint.pt")["epoch"] == 1

    starts = []
    resumed = train(TrainRequest(recipe, teacher="ensemble", out=out, resume=True),
                    on_progress=lambda p: starts.append((p.stage, p.epoch)) if p.kind == "start" else None)
    # only the student is left, and it continues from its checkpoint instead of starting over
    assert starts == [("student mbconv_tcn_xs (distilled)", 1)]
    assert _stable(resumed)["student"] == _stable(reference)["student"]
    assert _stable(resumed)["teachers"] == _stable(reference)["teachers"]
    on_disk = json.loads((out / "metrics.json").read_text())
    assert _stable(on_disk)["student"]["test"] == _stable(reference)["student"]["test"]
