"""Budgets in optimizer steps, chosen by validation: the loop stops early, keeps the best
weights, lowers the rate on a plateau, and the tracker's rules hold on their own."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from edgekit.config_io import ConfigError
from edgekit.models import create_model
from edgekit.train.config import TrainConfig, stage_budget
from edgekit.train.loop import FitOptions, fit, predict
from edgekit.train.losses import LossConfig, Objective
from edgekit.train.schedule import OptimConfig
from edgekit.train.scoring import log_loss, monitored_metric
from edgekit.train.stopping import PlateauConfig, Tracker
from edgekit.train.tensors import Scaler, SequenceTensors, to_arrays

CPU = torch.device("cpu")


def _tensors(n: int, seed: int, flip: bool = False) -> SequenceTensors:
    """Class 0: a slow sine on channel 0, class 1: a fast one; `flip` swaps the labels, so a
    model that learns the training set gets worse on this one."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    seqs = []
    for y in labels:
        t = np.arange(32)
        s = rng.normal(0, 0.3, (32, 2)).astype(np.float32)
        s[:, 0] += np.sin(2 * np.pi * (0.05 if y == 0 else 0.25) * t + rng.uniform(0, 6))
        seqs.append(s)
    arrays = to_arrays(seqs, 1 - labels if flip else labels, Scaler.fit(seqs, ("a", "b")), 32, "last")
    return SequenceTensors(arrays, 2)


def _fit(cfg: TrainConfig, *, epochs: int = 8, max_steps: int | None = None, monitor: str = "accuracy",
         score=None, valid: SequenceTensors | None = None, on_progress=None):
    torch.manual_seed(0)
    model = create_model("wavenet1d", in_chs=2, num_classes=2, chs=8, dilations=(1, 2))
    train = _tensors(64, seed=0)
    valid = valid if valid is not None else _tensors(32, seed=1)
    score = score or (lambda y, z: {"accuracy": float((z.argmax(1) == y).mean()), "log_loss": log_loss(y, z)})
    opts = FitOptions(epochs=epochs, max_steps=max_steps, seed=0, device=CPU, monitor=monitor)
    return model, fit(model, train, cfg, Objective(cfg.loss, 2), opts, valid=valid, score=score,
                      on_progress=on_progress)


def _cfg(**fields) -> TrainConfig:
    optim = fields.pop("optim", OptimConfig(lr=1e-2, warmup_frac=0.0))
    return TrainConfig(batch_size=16, optim=optim, loss=LossConfig(label_smoothing=0.0), **fields)


def _constant(y, z):  # a validation score that never improves: patience decides alone
    return {"accuracy": 0.5}


def test_patience_stops_before_the_budget_and_never_before_min_steps():
    _, result = _fit(_cfg(patience=2), score=_constant)
    stop = result.stopping  # 4 steps per epoch; evaluations at 4, 8, 12: two without improvement
    assert stop["stop_reason"] == "early_stopping" and stop["stopped_at_step"] == 12 < stop["budget_steps"] == 32
    assert [r["step"] for r in result.history] == [4, 8, 12] and stop["best_step"] == 12  # ties move the best later
    _, later = _fit(_cfg(patience=2, min_steps=18), score=_constant)
    assert later.stopping["stopped_at_step"] == 20 and later.stopping["stop_reason"] == "early_stopping"
    _, full = _fit(_cfg(), score=_constant)  # patience 0: the whole budget
    assert full.stopping["stop_reason"] == "budget" and full.stopping["stopped_at_step"] == 32


def test_the_returned_model_is_the_best_evaluated_one_not_the_last():
    # validation labels are the training labels swapped: learning makes the validation loss worse
    valid = _tensors(32, seed=1, flip=True)
    snapshots = {}
    model = None

    def snapshot(p):
        if p.kind == "epoch":
            snapshots[p.values["step"]] = {k: v.clone() for k, v in model.state_dict().items()}

    torch.manual_seed(0)
    model = create_model("wavenet1d", in_chs=2, num_classes=2, chs=8, dilations=(1, 2))
    cfg = _cfg()
    scores = lambda y, z: {"log_loss": log_loss(y, z)}  # noqa: E731
    result = fit(model, _tensors(64, seed=0), cfg, Objective(cfg.loss, 2),
                 FitOptions(epochs=6, seed=0, device=CPU, monitor="log_loss"), valid=valid, score=scores,
                 on_progress=snapshot)
    losses = [r["val_log_loss"] for r in result.history]
    stop = result.stopping
    assert stop["restored_best"] and stop["best_value"] == min(losses) < losses[-1]
    kept = log_loss(valid.labels.numpy(), predict(result.model, valid, 64, CPU))
    assert kept == pytest.approx(min(losses), abs=1e-9) and kept < losses[-1]
    best = snapshots[stop["best_step"]]
    assert all(torch.equal(v, best[k]) for k, v in result.model.state_dict().items())
    assert result.best_record["val_log_loss"] == min(losses)


def test_restore_best_off_keeps_the_last_weights():
    valid = _tensors(32, seed=1, flip=True)
    _, result = _fit(_cfg(restore_best=False), epochs=4, valid=valid, monitor="log_loss",
                     score=lambda y, z: {"log_loss": log_loss(y, z)})
    assert not result.stopping["restored_best"] and result.best_record == result.history[-1]


def test_plateau_lowers_the_rate_then_ends_the_stage_at_its_floor():
    constant_rate = OptimConfig(lr=1e-2, warmup_frac=0.0, min_lr_ratio=1.0)
    cfg = _cfg(optim=constant_rate, plateau=PlateauConfig(patience=1, factor=0.5, min_lr_ratio=0.2))
    _, result = _fit(cfg, score=_constant)
    # evaluation 1 sets the reference; 2 and 3 halve the rate; at 4 a third halving (0.125) would
    # pass the floor (0.2): the stage ends there
    assert [r["lr"] for r in result.history] == pytest.approx([1e-2, 1e-2, 5e-3, 2.5e-3])
    assert result.stopping["lr_reductions"] == [8, 12]
    assert result.stopping["stop_reason"] == "plateau_min_lr" and result.stopping["stopped_at_step"] == 16


def test_a_step_budget_sets_the_cosine_horizon_and_may_end_inside_an_epoch():
    cfg = _cfg(optim=OptimConfig(lr=1e-2, warmup_frac=0.0, min_lr_ratio=0.1))
    _, result = _fit(cfg, epochs=50, max_steps=10)  # max_steps wins over epochs
    assert [r["step"] for r in result.history] == [4, 8, 10] and result.history[-1]["epoch"] == 2.5
    assert result.history[-1]["lr"] == pytest.approx(1e-3)  # the cosine's floor at the budget's last step
    assert result.stopping["stopped_at_step"] == 10 and result.stopping["stop_reason"] == "budget"
    _, every = _fit(_cfg(eval_every_steps=3), epochs=2)
    assert [r["step"] for r in every.history] == [3, 6, 8]  # every 3 steps, and at the budget's end


def test_tracker_counts_improvements_beyond_min_delta_and_minimises_a_loss():
    tracker = Tracker("macro_f1", patience=2, min_delta=0.05)
    verdicts = [tracker.observe(v, step) for step, v in enumerate([0.5, 0.52, 0.53, 0.9], start=1)]
    assert [v.is_best for v in verdicts] == [True, True, True, True]
    assert [v.stop for v in verdicts[:2]] == [None, None] and verdicts[2].stop == "early_stopping"
    loss = Tracker("log_loss")
    assert [loss.observe(v, s).is_best for s, v in enumerate([1.0, 0.8, 0.9, math.nan, 0.8])] == \
        [True, True, False, False, True]
    assert loss.best_step == 4
    restored = Tracker("log_loss")
    restored.load_state_dict(loss.state_dict())
    assert restored == loss


def test_the_monitored_metric_and_a_stages_budget():
    cmi = ("Cheek - pinch skin", "Drink from bottle/cup")
    assert monitored_metric("auto", cmi) == "cmi_score" and monitored_metric("auto", ("walk", "sit")) == "macro_f1"
    assert monitored_metric("loss", ("walk", "sit")) == "log_loss"
    with pytest.raises(ConfigError, match="train.monitor = 'cmi_score'.*expected"):
        monitored_metric("cmi_score", ("walk", "sit"))
    train = TrainConfig(epochs=5, max_steps=300)
    assert stage_budget(train, None, None) == (5, 300)
    assert stage_budget(train, 7, None) == (7, None)  # a stage's own epochs: not [train]'s steps
    assert stage_budget(train, None, 40) == (5, 40)
