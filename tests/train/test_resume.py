"""A run stopped mid-training, then resumed: the same metrics and logits as an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from edgekit.resources import recipes_dir
from edgekit.train.checkpoint import load_checkpoint
from edgekit.train.recipe import load_recipe
from edgekit.train.run import TrainRequest, train

VOLATILE = {"seconds", "train_samples_per_s", "timings"}


def _stable(obj):
    if isinstance(obj, dict):
        return {k: _stable(v) for k, v in obj.items() if k not in VOLATILE}
    if isinstance(obj, list):
        return [_stable(v) for v in obj]
    return obj


class _Stopped(Exception):
    """Raised by the test's own progress callback; the library treats it like any other error."""


def _stop_after(epochs: int):
    """A progress callback that stops the run once `epochs` epochs (all stages) have been reported."""
    seen = 0

    def on_progress(p) -> None:
        nonlocal seen
        if p.kind == "epoch":
            seen += 1
            if seen == epochs:
                raise _Stopped(f"{p.stage} after epoch {p.epoch}")

    return on_progress


def test_resume_after_a_stop_ends_with_the_same_metrics(make_recipe, tmp_path):
    recipe = make_recipe(teachers={"members": [{"name": "wavenet1d", "options": {"chs": 8, "dilations": [1, 2]}}]},
                         train={"epochs": 3, "ema_decay": 0.9})
    reference = train(TrainRequest(recipe, teacher="ensemble", out=tmp_path / "ref"))

    out = tmp_path / "stopped"
    with pytest.raises(_Stopped):  # after epoch 1 of fold 0
        train(TrainRequest(recipe, teacher="ensemble", out=out), on_progress=_stop_after(1))
    fold0 = out / "teachers" / "wavenet1d" / "fold0"
    state = load_checkpoint(fold0 / "checkpoint.pt")
    assert state is not None and state["epoch"] == 1 and not (fold0 / "done.json").exists()

    # 5 more teacher epochs (2 folds x 3 in all), then stopped after the student's first epoch
    with pytest.raises(_Stopped, match="student"):
        train(TrainRequest(recipe, teacher="ensemble", out=out, resume=True), on_progress=_stop_after(6))
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


QUICK = ["--teacher", "none", "train.epochs=4", "data.simulate_sequences=120"]


@pytest.mark.slow  # two `edgekit train` processes (~10 s of imports each)
def test_sigkill_mid_training_then_resume_matches_an_uninterrupted_run(tmp_path):
    recipe_path = recipes_dir() / "sim" / "quickstart.toml"
    reference = train(TrainRequest(load_recipe(recipe_path, QUICK[2:]), teacher="none", out=tmp_path / "ref"))

    out = tmp_path / "killed"
    command = [sys.executable, "-m", "edgekit", "train", "--recipe", str(recipe_path), *QUICK, "--out", str(out), "--json"]
    proc = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    checkpoint = out / "student" / "checkpoint.pt"
    deadline = time.monotonic() + 120
    while not checkpoint.exists():  # renamed into place whole, so its presence means epoch 1 is saved
        assert proc.poll() is None, f"edgekit train ended before its first checkpoint: {proc.stderr.read().decode()}"
        assert time.monotonic() < deadline, "no checkpoint after 120 s"
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL
    proc.stderr.close()
    # killed mid-training: some epochs saved, not all, and no results written
    assert 1 <= load_checkpoint(checkpoint)["epoch"] < 4 and not (out / "metrics.json").exists()

    done = subprocess.run([*command, "--resume"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert _stable(json.loads(done.stdout))["student"] == _stable(reference)["student"]
    assert _stable(json.loads((out / "metrics.json").read_text()))["student"] == _stable(reference)["student"]
    np.testing.assert_array_equal(np.load(out / "student" / "test_logits.npy"),
                                  np.load(tmp_path / "ref" / "student" / "test_logits.npy"))
