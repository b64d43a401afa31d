"""Optimizers and learning-rate schedules: AdamW + linear warmup + cosine (or cosine with warm
restarts), or a schedule-free AdamW, RAdam or SGD.

AdamW (Loshchilov & Hutter, arXiv 1711.05101) follows `warmup_cosine`: the loop sets each step's
rate with `set_lr(opt, lr_at(cfg, step, total_steps))`, `total_steps` being the stage's budget
(`train.max_steps`, or epochs × steps per epoch), so the cosine reaches its floor at the budget's
end whatever the batch size. `schedule = "cosine_restarts"` (SGDR, Loshchilov & Hutter, arXiv
1608.03983) instead restarts the cosine: after the warmup, cycles of `cycle_steps` steps (0 = 15
epochs' worth, as in the public CMI notebook's `first_decay_steps`), each `cycle_mult` times longer
than the one before, every cycle decaying from `lr` to `lr·min_lr_ratio` and jumping back up.

Schedule-free AdamW (Defazio et al., "The Road Less Scheduled", arXiv 2405.15682; the
`schedulefree` package) needs no decay schedule: `lr_at` returns the constant `cfg.lr` and the
optimizer warms up itself (`warmup_steps` from `make_optimizer(..., total_steps=)`). It keeps
two weight sequences, so the loop MUST call `optimizer_train_mode(opt)` before training steps and
`optimizer_eval_mode(opt)` before evaluating or saving weights (the eval-mode weights are the
averaged ones to keep). The schedule-free RAdam and SGD of the same package (`radam_schedule_free`,
`sgd_schedule_free`) follow the same protocol; RAdam's rectification replaces the warmup
(`warmup_frac` is unused), and SGD's momentum is `betas[0]`. A model with BatchNorm should
refresh its running statistics in eval mode (a few forward passes with `model.train()` under
`torch.no_grad()`) before evaluation. Both helpers are no-ops for AdamW, so the loop can call them
unconditionally.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any, Iterable, Literal

import torch
from pydantic import Field
from torch import nn

from edgekit.config_io import ConfigError, Fraction, NonNegative, NonNegativeInt, PositiveFloat, check
from edgekit.errors import EdgekitError


class OptimName(Enum):
    ADAMW = "adamw"
    SCHEDULE_FREE = "schedule_free"  # schedule-free AdamW
    RADAM_SCHEDULE_FREE = "radam_schedule_free"
    SGD_SCHEDULE_FREE = "sgd_schedule_free"

    @property
    def schedule_free(self) -> bool:
        return self is not OptimName.ADAMW


EPOCHS_PER_FIRST_CYCLE = 15  # cosine_restarts' default first cycle, in epochs (the CMI notebook's)


_Beta = Annotated[float, Field(ge=0, lt=1, description="a number in [0, 1)")]


@dataclass(frozen=True)
class OptimConfig:
    """`name` may also be given by its value (`"schedule_free"`), in a recipe or in code."""

    name: OptimName = OptimName.ADAMW
    lr: PositiveFloat = 2e-3
    weight_decay: NonNegative = 1e-2
    warmup_frac: Annotated[float, Field(ge=0, lt=1, description="a fraction in [0, 1)")] = 0.05
    min_lr_ratio: Fraction = 0.01
    grad_clip: NonNegative = 1.0  # max global grad norm (the loop clips); 0 = off
    betas: tuple[_Beta, _Beta] = (0.9, 0.999)
    schedule: Literal["cosine", "cosine_restarts"] = "cosine"  # AdamW's decay after the warmup
    cycle_steps: NonNegativeInt = 0  # cosine_restarts: the first cycle in steps; 0 = 15 epochs' worth
    cycle_mult: Annotated[float, Field(ge=1, description="a number >= 1")] = 2.0  # each cycle this much longer

    def __post_init__(self) -> None:
        check(self)
        if self.name.schedule_free and self.schedule != "cosine":
            raise ConfigError(f"optimizer {self.name.value!r} takes no learning-rate schedule (it warms up "
                              f"only); expected schedule = 'cosine' (ignored) or name = 'adamw', got "
                              f"schedule = {self.schedule!r}")
        if self.name is OptimName.SGD_SCHEDULE_FREE and self.betas[0] == 0:
            raise ConfigError("sgd_schedule_free takes its momentum from betas[0], which must be in (0, 1); got 0")

    def warmup_steps(self, total_steps: int) -> int:
        return int(round(self.warmup_frac * total_steps))


def warmup_cosine(step: int, total_steps: int, warmup_steps: int, base_lr: float, min_lr_ratio: float) -> float:
    """Learning rate at 0-based `step`: linear warmup `base_lr·(step + 1)/warmup_steps`, then a
    cosine from `base_lr` (at `warmup_steps`) down to `base_lr·min_lr_ratio` at the last step
    (`total_steps − 1`); steps past the end stay at the minimum."""
    if total_steps <= 0:
        raise EdgekitError(f"total_steps must be > 0, got {total_steps}")
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    min_lr = base_lr * min_lr_ratio
    decay_steps = max(total_steps - 1 - warmup_steps, 1)
    progress = min(max((step - warmup_steps) / decay_steps, 0.0), 1.0)
    return min_lr + (base_lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))


def warmup_cosine_restarts(step: int, warmup_steps: int, cycle_steps: int, cycle_mult: float, base_lr: float,
                           min_lr_ratio: float) -> float:
    """Learning rate at 0-based `step`: the same linear warmup, then cosine cycles from `base_lr`
    down to `base_lr·min_lr_ratio`, the first `cycle_steps` long, each next one `cycle_mult` times
    longer (rounded to whole steps); every cycle starts again at `base_lr`."""
    if cycle_steps <= 0:
        raise EdgekitError(f"cycle_steps must be > 0, got {cycle_steps}")
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    position, length = step - warmup_steps, cycle_steps
    while position >= length:
        position -= length
        length = max(int(round(length * cycle_mult)), 1)
    min_lr = base_lr * min_lr_ratio
    return min_lr + (base_lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * position / length))


def lr_at(cfg: OptimConfig, step: int, total_steps: int, steps_per_epoch: int | None = None) -> float:
    """The rate the loop sets at `step`: the warmup-cosine (or warm restarts) for AdamW, constant
    `cfg.lr` for schedule-free (which warms up inside the optimizer). `steps_per_epoch` sizes the
    default first restart cycle."""
    if cfg.name.schedule_free:
        return cfg.lr
    if cfg.schedule == "cosine_restarts":
        cycle = cfg.cycle_steps or EPOCHS_PER_FIRST_CYCLE * (steps_per_epoch or 0)
        if cycle <= 0:
            raise EdgekitError("cosine_restarts with cycle_steps = 0 takes its first cycle from the steps per "
                               "epoch; expected lr_at(..., steps_per_epoch=) or optim.cycle_steps > 0")
        return warmup_cosine_restarts(step, cfg.warmup_steps(total_steps), cycle, cfg.cycle_mult, cfg.lr,
                                      cfg.min_lr_ratio)
    return warmup_cosine(step, total_steps, cfg.warmup_steps(total_steps), cfg.lr, cfg.min_lr_ratio)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Two groups: weights with `weight_decay`, and biases/norm scales (≤ 1-D) without (timm's rule)."""
    decay, no_decay = [], []
    for param in model.parameters():
        if param.requires_grad:
            (no_decay if param.ndim <= 1 else decay).append(param)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def make_optimizer(params: Iterable[torch.Tensor] | Iterable[dict[str, Any]], cfg: OptimConfig, *,
                   total_steps: int | None = None) -> torch.optim.Optimizer:
    """AdamW or a schedule-free AdamW, RAdam or SGD over `params` (tensors, or groups from `param_groups`).

    `total_steps` sets schedule-free's internal warmup (`cfg.warmup_frac · total_steps`; RAdam has
    none); AdamW's warmup comes from `lr_at`. A new schedule-free optimizer is put in train mode.
    """
    if cfg.name is OptimName.ADAMW:
        return torch.optim.AdamW(params, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)
    try:
        import schedulefree
    except ImportError:
        raise EdgekitError(f"optimizer {cfg.name.value!r} needs the schedulefree package: "
                           "pip install 'edgekit[train]' (or pip install schedulefree)") from None
    warmup = cfg.warmup_steps(total_steps) if total_steps else 0
    if cfg.name is OptimName.RADAM_SCHEDULE_FREE:
        opt = schedulefree.RAdamScheduleFree(params, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)
    elif cfg.name is OptimName.SGD_SCHEDULE_FREE:
        opt = schedulefree.SGDScheduleFree(params, lr=cfg.lr, momentum=cfg.betas[0], weight_decay=cfg.weight_decay,
                                           warmup_steps=warmup)
    else:
        opt = schedulefree.AdamWScheduleFree(params, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay,
                                             warmup_steps=warmup)
    opt.train()
    return opt


def _is_schedule_free(optimizer: torch.optim.Optimizer) -> bool:
    return callable(getattr(optimizer, "train", None)) and callable(getattr(optimizer, "eval", None))


def optimizer_train_mode(optimizer: torch.optim.Optimizer) -> None:
    """Call before training steps: schedule-free switches to its training weights; no-op otherwise."""
    if _is_schedule_free(optimizer):
        optimizer.train()


def optimizer_eval_mode(optimizer: torch.optim.Optimizer) -> None:
    """Call before evaluation or saving: schedule-free switches to its averaged weights; no-op otherwise."""
    if _is_schedule_free(optimizer):
        optimizer.eval()
