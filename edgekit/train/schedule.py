"""Optimizers and learning-rate schedules: AdamW + linear warmup + cosine, or schedule-free AdamW.

AdamW (Loshchilov & Hutter, arXiv 1711.05101) follows `warmup_cosine`: the loop sets each step's
rate with `set_lr(opt, lr_at(cfg, step, total_steps))`, `total_steps` being the stage's budget
(`train.max_steps`, or epochs × steps per epoch), so the cosine reaches its floor at the budget's
end whatever the batch size.

Schedule-free AdamW (Defazio et al., "The Road Less Scheduled", arXiv 2405.15682; the
`schedulefree` package) needs no decay schedule: `lr_at` returns the constant `cfg.lr` and the
optimizer warms up itself (`warmup_steps` from `make_optimizer(..., total_steps=)`). It keeps
two weight sequences, so the loop MUST call `optimizer_train_mode(opt)` before training steps and
`optimizer_eval_mode(opt)` before evaluating or saving weights (the eval-mode weights are the
averaged ones to keep). A model with BatchNorm should refresh its running statistics in eval mode
(a few forward passes with `model.train()` under `torch.no_grad()`) before evaluation. Both helpers
are no-ops for AdamW, so the loop can call them unconditionally.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any, Iterable

import torch
from pydantic import Field
from torch import nn

from edgekit.config_io import Fraction, NonNegative, PositiveFloat, check
from edgekit.errors import EdgekitError


class OptimName(Enum):
    ADAMW = "adamw"
    SCHEDULE_FREE = "schedule_free"


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

    def __post_init__(self) -> None:
        check(self)

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


def lr_at(cfg: OptimConfig, step: int, total_steps: int) -> float:
    """The rate the loop sets at `step`: the warmup-cosine for AdamW, constant `cfg.lr` for
    schedule-free (which warms up inside the optimizer)."""
    if cfg.name is OptimName.SCHEDULE_FREE:
        return cfg.lr
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
    """AdamW or schedule-free AdamW over `params` (tensors, or groups from `param_groups`).

    `total_steps` sets schedule-free's internal warmup (`cfg.warmup_frac · total_steps`); AdamW's
    warmup comes from `lr_at`. A new schedule-free optimizer is put in train mode.
    """
    if cfg.name is OptimName.ADAMW:
        return torch.optim.AdamW(params, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)
    try:
        import schedulefree
    except ImportError:
        raise EdgekitError("optimizer 'schedule_free' needs the schedulefree package: "
                           "pip install 'edgekit[train]' (or pip install schedulefree)") from None
    warmup = cfg.warmup_steps(total_steps) if total_steps else 0
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
