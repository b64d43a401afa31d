"""Choosing weights by validation: best-step tracking, early stopping and ReduceLROnPlateau.

The loop evaluates a stage's validation split at each evaluation point (each epoch's end, or
every `train.eval_every_steps` optimizer steps) and hands the monitored value to a `Tracker`:
- the *best* evaluation is the highest value (lowest for a loss); a tie moves the best to the
  later step, whose weights saw more data at a lower rate. The loop keeps those weights and
  returns them (`train.restore_best`), not the last ones;
- *patience* counts evaluations without an improvement of more than `train.min_delta` over the
  best so far; `train.patience` of them end the stage ("early_stopping", Prechelt 1998);
- *plateau* (`[train.plateau]`, ReduceLROnPlateau counted as Keras does) multiplies the rate by
  `factor` after `plateau.patience` evaluations without improvement, on top of warmup + cosine.
  A plateau that would take the rate below `plateau.min_lr_ratio` of the schedule's ends the
  stage ("plateau_min_lr").
Neither ends a stage before `train.min_steps`. A stage that runs its whole budget stops for
"budget". The tracker's state is plain numbers, saved in every checkpoint, so a resumed stage
stops where the uninterrupted one does.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Annotated, Any

from pydantic import Field

from edgekit.config_io import NonNegativeInt

BUDGET, EARLY_STOPPING, PLATEAU_MIN_LR = "budget", "early_stopping", "plateau_min_lr"
CLOSED_FORM = "closed_form"  # fitted by a closed-form solve, no steps (`loop._fit_closed_form`)
LOWER_IS_BETTER = frozenset({"log_loss"})  # metric keys (of `scoring.quick_scores`) a stage minimises


@dataclass
class PlateauConfig:
    """`[train.plateau]`: ReduceLROnPlateau on the monitored validation metric; off at patience 0."""

    patience: NonNegativeInt = 0  # evaluations without improvement before the rate drops; 0 = off
    factor: Annotated[float, Field(gt=0, lt=1, description="a factor in (0, 1)")] = 0.5
    min_lr_ratio: Annotated[float, Field(gt=0, le=1, description="a ratio in (0, 1]")] = 0.01


@dataclass
class Verdict:
    is_best: bool  # this evaluation is the best so far (ties included): keep its weights
    stop: str | None  # EARLY_STOPPING or PLATEAU_MIN_LR: end the stage now


@dataclass
class Tracker:
    """The monitored metric across a stage's evaluations; see the module docstring."""

    key: str  # a key of the score dict ("macro_f1", "log_loss", ...)
    patience: int = 0
    min_delta: float = 0.0
    min_steps: int = 0
    plateau: PlateauConfig = field(default_factory=PlateauConfig)
    best_value: float | None = None
    best_step: int | None = None
    reference: float | None = None  # the value an improvement must beat by more than min_delta
    since_improvement: int = 0
    since_plateau: int = 0
    lr_scale: float = 1.0
    lr_reductions: list[int] = field(default_factory=list)  # steps at which a plateau lowered the rate

    def observe(self, value: float, step: int) -> Verdict:
        value = float(value)
        sign = -1.0 if self.key in LOWER_IS_BETTER else 1.0
        usable = not math.isnan(value)  # a diverged (NaN) evaluation is never best nor an improvement
        is_best = usable and (self.best_value is None or sign * value >= sign * self.best_value)
        if is_best:
            self.best_value, self.best_step = value, step
        if usable and (self.reference is None or sign * (value - self.reference) > self.min_delta):
            self.reference, self.since_improvement, self.since_plateau = value, 0, 0
        else:
            self.since_improvement += 1
            self.since_plateau += 1
        may_stop = step >= self.min_steps
        if self.patience > 0 and self.since_improvement >= self.patience and may_stop:
            return Verdict(is_best, EARLY_STOPPING)
        if self.plateau.patience > 0 and self.since_plateau >= self.plateau.patience:
            self.since_plateau = 0
            if self.lr_scale * self.plateau.factor < self.plateau.min_lr_ratio * (1 - 1e-9):
                if may_stop:
                    return Verdict(is_best, PLATEAU_MIN_LR)
            else:
                self.lr_scale *= self.plateau.factor
                self.lr_reductions.append(step)
        return Verdict(is_best, None)

    def state_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k not in ("key", "patience", "min_delta", "min_steps", "plateau")}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            setattr(self, key, list(value) if key == "lr_reductions" else value)


def stop_report(tracker: Tracker | None, *, budget: int, step: int, reason: str | None, restored: bool) -> dict:
    """What metrics.json records of a stage's end: where and why it stopped, and what it kept."""
    return {
        "monitor": tracker.key if tracker is not None else None,
        "budget_steps": budget,
        "stopped_at_step": step,
        "stop_reason": reason or BUDGET,
        "best_step": tracker.best_step if tracker is not None else None,
        "best_value": tracker.best_value if tracker is not None else None,
        "restored_best": restored,
        "lr_reductions": list(tracker.lr_reductions) if tracker is not None else [],
    }
