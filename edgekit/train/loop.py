"""THE training loop, shared by every teacher and student.

`fit` trains one model on one `SequenceTensors` set: AdamW or schedule-free (`schedule.py`),
linear warmup + cosine decay, gradient clipping, EMA of the weights, augmentations, bf16 autocast
on CUDA, optional `torch.compile` and DDP. Distillation is not a second loop: a dataset that
carries teacher logits makes the `Objective` add its KD term.

Reproducibility and resume: at each epoch start torch is reseeded and the batch order and the
augmentation generator are derived from `(seed, epoch)` only; the checkpoint written after each
epoch holds the model, optimizer, EMA, step and history. So a run resumed from the checkpoint of
epoch k draws exactly what the uninterrupted run drew and ends with the same weights (on CPU;
CUDA kernels may be non-deterministic).

The library never prints: progress goes to `on_progress(Progress)`; the CLI draws it. Whatever
the callback raises ends the run like any other error (nothing is caught), which is how a caller
stops training early.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from edgekit.train.augment import Augmenter
from edgekit.train.checkpoint import load_checkpoint, save_checkpoint
from edgekit.train.config import TrainConfig
from edgekit.train.device import autocast, dist_env, train_forward
from edgekit.train.ema import ModelEMA
from edgekit.train.losses import Objective
from edgekit.train.schedule import (
    OptimName,
    lr_at,
    make_optimizer,
    optimizer_eval_mode,
    optimizer_train_mode,
    param_groups,
    set_lr,
)
from edgekit.train.tensors import LengthGroupedBatches, SequenceTensors, collate, eval_batches, loader


@dataclass
class Progress:
    """One progress report. `kind`: "start" (a stage begins), "step", "epoch" (with validation
    metrics when there is a validation set) or "end"."""

    kind: str
    stage: str
    epoch: int = 0
    epochs: int = 0
    step: int = 0
    steps_per_epoch: int = 0
    values: dict[str, float] = field(default_factory=dict)


ProgressFn = Callable[[Progress], None]
ScoreFn = Callable[[np.ndarray, np.ndarray], dict[str, float]]  # (labels, logits) -> metrics


@dataclass
class FitOptions:
    epochs: int
    seed: int
    device: torch.device
    stage: str = "train"
    amp: bool = True
    compile: bool = False
    checkpoint: Path | None = None  # written after every epoch; resumed from when present
    physics_index: tuple[int, ...] = ()  # input channels the physics head reconstructs (students)


@dataclass
class FitResult:
    model: torch.nn.Module  # the weights to use: the EMA copy when EMA is on
    history: list[dict[str, float]]
    seconds: float
    samples_per_s: float
    peak_memory_gb: float | None = None  # CUDA only: torch.cuda.max_memory_allocated during fit


def fit(model: torch.nn.Module, train: SequenceTensors, cfg: TrainConfig, objective: Objective, opts: FitOptions,
        *, valid: SequenceTensors | None = None, score: ScoreFn | None = None,
        on_progress: ProgressFn | None = None) -> FitResult:
    env = dist_env()
    notify = on_progress or (lambda p: None)
    device = opts.device
    model.to(device)
    forward = train_forward(model, device, compile=opts.compile, env=env)
    sampler = LengthGroupedBatches(train.lengths, cfg.batch_size, seed=opts.seed, grouped=cfg.length_grouped,
                                   drop_last=len(train) > cfg.batch_size, rank=env.rank, world=env.world)
    steps_per_epoch = len(sampler)
    total_steps = steps_per_epoch * opts.epochs
    optimizer = make_optimizer(param_groups(model, cfg.optim.weight_decay), cfg.optim, total_steps=total_steps)
    ema = ModelEMA(model, cfg.ema_decay) if cfg.ema_decay > 0 else None

    start_epoch, step, history = 0, 0, []
    state = load_checkpoint(opts.checkpoint) if opts.checkpoint is not None else None
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if ema is not None and state.get("ema") is not None:
            ema.load_state_dict(state["ema"])
        start_epoch, step, history = int(state["epoch"]), int(state["step"]), list(state["history"])

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    notify(Progress("start", opts.stage, start_epoch, opts.epochs, 0, steps_per_epoch))
    started, seen, lr = time.perf_counter(), 0, cfg.optim.lr
    for epoch in range(start_epoch, opts.epochs):
        torch.manual_seed(_epoch_seed(opts.seed, epoch))  # dropout, drop-path: same draws on resume
        sampler.set_epoch(epoch)
        augmenter = Augmenter(cfg.augment, torch.Generator().manual_seed(_epoch_seed(opts.seed, epoch) + 1))
        model.train()
        optimizer_train_mode(optimizer)
        sums: dict[str, float] = {}
        for i, batch in enumerate(loader(train, sampler)):
            lr = lr_at(cfg.optim, step, total_steps)
            set_lr(optimizer, lr)
            x, mask, target, teacher, recon = _augmented(batch, augmenter, opts.physics_index, device)
            with autocast(device, opts.amp):
                outputs = forward(x, mask)
            loss, parts = objective(outputs, target, teacher_logits=teacher, recon_target=recon, mask=mask)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.optim.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.optim.grad_clip)
            optimizer.step()
            if ema is not None:
                ema.update(model)
            step += 1
            seen += len(x)
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + v
            notify(Progress("step", opts.stage, epoch, opts.epochs, i + 1, steps_per_epoch, {"loss": parts["loss"], "lr": lr}))
        if env.enabled:
            _sync_from_rank0(model, ema)
        record = {"epoch": epoch + 1, "lr": lr, **{f"train_{k}": v / max(1, steps_per_epoch) for k, v in sums.items()}}
        if valid is not None and score is not None:
            _to_eval_weights(model, optimizer, ema, train, cfg, device)
            record.update({f"val_{k}": v for k, v in score(valid.labels.numpy(), predict(_eval_model(model, ema), valid, cfg.eval_batch_size, device, opts.amp)).items()})
            optimizer_train_mode(optimizer)
        history.append(record)
        if opts.checkpoint is not None and env.is_main:
            save_checkpoint(opts.checkpoint, {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                              "ema": ema.state_dict() if ema is not None else None,
                                              "epoch": epoch + 1, "step": step, "history": history})
        # reported only once its checkpoint is on disk: a caller that stops the run from this
        # report (or a kill that follows it) loses nothing `resume` cannot restore
        notify(Progress("epoch", opts.stage, epoch + 1, opts.epochs, steps_per_epoch, steps_per_epoch, record))
    _to_eval_weights(model, optimizer, ema, train, cfg, device)  # schedule-free: keep the averaged weights
    seconds = time.perf_counter() - started
    final = _eval_model(model, ema)
    notify(Progress("end", opts.stage, opts.epochs, opts.epochs, steps_per_epoch, steps_per_epoch,
                    history[-1] if history else {}))
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None
    return FitResult(final.eval(), history, seconds, seen / seconds if seconds > 0 else math.nan, peak)


def _sync_from_rank0(model: torch.nn.Module, ema: ModelEMA | None) -> None:
    """DDP keeps parameters equal but not buffers: BatchNorm running statistics drift per rank
    (rank 0's are broadcast before each forward, then each rank updates its own). Copy rank 0's
    state to every rank at epoch end, so evaluation and the written files agree across ranks."""
    for module in (model, ema.module if ema is not None else None):
        if module is None:
            continue
        for tensor in list(module.parameters()) + list(module.buffers()):
            torch.distributed.broadcast(tensor.data, src=0)


def _to_eval_weights(model, optimizer, ema, train: SequenceTensors, cfg: TrainConfig, device) -> None:
    """Schedule-free: switch to the averaged weights and, as its authors advise, re-estimate
    BatchNorm statistics for them with a few no-grad train-mode passes. No-op for AdamW."""
    optimizer_eval_mode(optimizer)
    if cfg.optim.name is not OptimName.SCHEDULE_FREE or ema is not None:
        return
    if not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules()):
        return
    was_training = model.training
    model.train()
    with torch.no_grad():
        for idx in eval_batches(len(train), cfg.batch_size)[:BN_REFRESH_BATCHES]:
            batch = collate(train[idx])
            model(batch["x"].to(device), batch["mask"].to(device))
    model.train(was_training)


BN_REFRESH_BATCHES = 16


def _epoch_seed(seed: int, epoch: int) -> int:
    return (seed * 1_000_003 + epoch * 7919) % (2**31)


def _eval_model(model: torch.nn.Module, ema: ModelEMA | None) -> torch.nn.Module:
    return ema.module if ema is not None else model


def _augmented(batch: dict[str, torch.Tensor], augmenter: Augmenter, physics_index: tuple[int, ...],
               device: torch.device):
    x, mask, target = batch["x"].to(device), batch["mask"].to(device), batch["target"].to(device)
    teacher = batch["teacher"].to(device) if "teacher" in batch else None
    x_mirrored = batch["x_mirrored"].to(device) if "x_mirrored" in batch else None
    index = list(physics_index)
    recon = x[..., index] if index else None
    recon_mirrored = x_mirrored[..., index] if index and x_mirrored is not None else None
    k = target.shape[1]
    # teacher logits ride along with the labels so mixup/cutmix blend them with the same weights
    joint = torch.cat([target, teacher], dim=1) if teacher is not None else target
    x, mask, joint, recon = augmenter(x, mask, joint, x_mirrored=x_mirrored, recon_target=recon,
                                      recon_mirrored=recon_mirrored)
    return x, mask, joint[:, :k], (joint[:, k:] if teacher is not None else None), recon


@torch.no_grad()
def predict(model: torch.nn.Module, data: SequenceTensors, batch_size: int, device: torch.device,
            amp: bool = True, tta_shifts: tuple[int, ...] = ()) -> np.ndarray:
    """`(N, K)` float32 logits of `model.forward` (eval mode), averaged over TTA views: each
    shift s drops a sequence's first s samples (sequences not longer than s keep all of theirs)."""
    was_training = model.training
    model.eval()
    model.to(device)
    out = []
    for idx in eval_batches(len(data), batch_size):
        batch = collate(data[idx])
        x, mask = batch["x"].to(device), batch["mask"].to(device)
        views = [_dropped_start(x, mask, s) for s in tta_shifts if s > 0]
        logits = []
        for vx, vm in [(x, mask), *views]:
            with autocast(device, amp):
                logits.append(model(vx, vm).float())
        out.append(torch.stack(logits).mean(0).cpu())
    model.train(was_training)
    return torch.cat(out).numpy() if out else np.zeros((0, 0), np.float32)


def _dropped_start(x: torch.Tensor, mask: torch.Tensor, s: int) -> tuple[torch.Tensor, torch.Tensor]:
    keep = mask.sum(1) > s
    shifted_x = torch.cat([x[:, s:], torch.zeros_like(x[:, :s])], dim=1)
    shifted_m = torch.cat([mask[:, s:], torch.zeros_like(mask[:, :s])], dim=1)
    return torch.where(keep[:, None, None], shifted_x, x), torch.where(keep[:, None], shifted_m, mask)
