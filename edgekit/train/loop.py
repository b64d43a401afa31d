"""THE training loop, shared by every teacher and student.

`fit` trains one model on one `SequenceTensors` set: AdamW or schedule-free AdamW/RAdam/SGD
(`schedule.py`), linear warmup + cosine decay (or warm restarts), gradient clipping, EMA of the
weights (optionally Switch EMA), augmentations (manifold mixup as a forward hook on a named
layer: `augment.py`), bf16 autocast on CUDA, optional `torch.compile` and DDP. Distillation is
not a second loop: a dataset that carries teacher logits makes the `Objective` add its KD term; so
does a `FitOptions.teacher_fn` (function matching: `online_teacher.py`), called without gradients
on each batch after its augmentation, so the teacher sees exactly the student's view.

Budget and validation: a stage runs `FitOptions.max_steps` optimizer steps (or `epochs` whole
epochs), the cosine decaying over that budget. At each evaluation point (an epoch's end, or every
`train.eval_every_steps` steps, and at the budget's end) the validation split is scored; with a
`FitOptions.monitor` the `stopping.Tracker` keeps the best weights (returned instead of the last
ones), and patience or a learning-rate plateau may end the stage early. `FitResult.stopping`
says where and why it stopped.

Closed-form models: a model with `closed_form = True` (MiniRocket's ridge solver) is fitted by its
own `fit_closed_form` on the whole training set, unaugmented (with modality dropout: plus the
dropped copies), instead of by gradient steps; the validation split is scored once (history step
0) and the stage's step budget does not apply.

Reproducibility and resume: at each epoch start torch is reseeded and the batch order and the
augmentation generator are derived from `(seed, epoch)` only; the checkpoint written at each
evaluation point holds the model, optimizer, EMA, step, history, the tracker with the best
weights, and (for a point inside an epoch) the torch and augmentation generator states. So a run
resumed from any checkpoint draws exactly what the uninterrupted run drew and ends with the same
weights (on CPU; CUDA kernels may be non-deterministic).

The library never prints: progress goes to `on_progress(Progress)`; the CLI draws it. Whatever
the callback raises ends the run like any other error (nothing is caught), which is how a caller
stops training early.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from edgekit.errors import EdgekitError
from edgekit.train.augment import Augmenter, manifold_hook, manifold_layers
from edgekit.train.checkpoint import load_checkpoint, save_checkpoint
from edgekit.train.config import TrainConfig
from edgekit.train.demographics import demographics_input
from edgekit.train.device import autocast, dist_env, train_forward
from edgekit.train.ema import ModelEMA
from edgekit.train.losses import Objective
from edgekit.train.schedule import (
    lr_at,
    make_optimizer,
    optimizer_eval_mode,
    optimizer_train_mode,
    param_groups,
    set_lr,
)
from edgekit.train.stopping import CLOSED_FORM, Tracker, stop_report
from edgekit.train.tensors import LengthGroupedBatches, SequenceTensors, collate, eval_batches, loader


@dataclass
class Progress:
    """One progress report. `kind`: "start" (a stage begins), "step", "epoch" (an evaluation
    point, its checkpoint written: with validation metrics when there is a validation set) or
    "end". `epoch` counts whole epochs done (0-based during "step"), `step` is the step within
    the epoch, `total_steps` the stage's budget. A "step" carries every loss term of the step,
    `lr` and `samples_per_s` (since the stage started or resumed); "start" carries the stage's
    `folder` (its checkpoint's), where the experiment logs go (`logs.py`)."""

    kind: str
    stage: str
    epoch: int = 0
    epochs: int = 0
    step: int = 0
    steps_per_epoch: int = 0
    values: dict[str, float] = field(default_factory=dict)
    total_steps: int = 0
    folder: Path | None = None

    @property
    def global_step(self) -> int:
        """Optimizer steps done in the stage (the logs' and the progress bar's x axis)."""
        return self.epoch * self.steps_per_epoch + self.step


ProgressFn = Callable[[Progress], None]
ScoreFn = Callable[[np.ndarray, np.ndarray], dict[str, float]]  # (labels, logits) -> metrics


@dataclass
class FitOptions:
    epochs: int  # the budget in whole epochs, unless max_steps is set
    seed: int
    device: torch.device
    stage: str = "train"
    amp: bool = True
    compile: bool = False
    checkpoint: Path | None = None  # written at every evaluation point; resumed from when present
    physics_index: tuple[int, ...] = ()  # input channels the physics head reconstructs (students)
    max_steps: int | None = None  # the budget in optimizer steps (wins over epochs)
    monitor: str = ""  # the `score` key that chooses weights and stops early; "" = keep the last weights
    # function matching: `(x, mask) -> (B, K)` teacher logits of the augmented batch, replacing
    # logits carried by the dataset (it must carry none); deterministic, so resume stays exact
    # (x, mask, demographics or None) -> teacher logits on the augmented view (function matching)
    teacher_fn: Callable[[torch.Tensor, torch.Tensor | None, torch.Tensor | None], torch.Tensor] | None = None
    sensor_fill: np.ndarray | None = None  # (C,) what modality dropout writes (`Prepared.sensor_fill`)


@dataclass
class FitResult:
    model: torch.nn.Module  # the weights to use: the best evaluated ones when monitored, the EMA copy when EMA is on
    history: list[dict[str, float]]  # one record per evaluation point
    seconds: float
    samples_per_s: float
    peak_memory_gb: float | None = None  # CUDA only: torch.cuda.max_memory_allocated during fit
    stopping: dict[str, Any] = field(default_factory=dict)  # `stopping.stop_report`: where and why it stopped

    @property
    def best_record(self) -> dict[str, float]:
        """The history record of the returned weights (the last one when not monitored)."""
        best = self.stopping.get("best_step") if self.stopping.get("restored_best") else None
        return next((r for r in self.history if r.get("step") == best), self.history[-1] if self.history else {})


def fit(model: torch.nn.Module, train: SequenceTensors, cfg: TrainConfig, objective: Objective, opts: FitOptions,
        *, valid: SequenceTensors | None = None, score: ScoreFn | None = None,
        on_progress: ProgressFn | None = None) -> FitResult:
    env = dist_env()
    notify = on_progress or (lambda p: None)
    if opts.teacher_fn is not None and train.teacher is not None:
        raise EdgekitError(f"{opts.stage}: the training set carries teacher logits and FitOptions.teacher_fn is set; "
                           "expected one teacher signal (fixed logits or an online teacher), not both")
    mixed_layers = manifold_layers(model, cfg.augment.manifold_mixup_layers) \
        if cfg.augment.manifold_mixup_p > 0 else ()
    if mixed_layers and opts.compile:
        raise EdgekitError(f"{opts.stage}: manifold mixup mixes a layer's output through a forward hook, which "
                           "torch.compile does not follow; expected device.compile = false or "
                           "train.augment.manifold_mixup_p = 0")
    device = opts.device
    model.to(device)
    if getattr(model, "closed_form", False):
        return _fit_closed_form(model, train, cfg, objective, opts, valid, score, notify)
    forward = train_forward(model, device, compile=opts.compile, env=env)
    sampler = LengthGroupedBatches(train.lengths, cfg.batch_size, seed=opts.seed, grouped=cfg.length_grouped,
                                   drop_last=len(train) > cfg.batch_size, rank=env.rank, world=env.world)
    steps_per_epoch = len(sampler)
    budget = opts.max_steps or steps_per_epoch * opts.epochs
    epochs = math.ceil(budget / steps_per_epoch)
    optimizer = make_optimizer(param_groups(model, cfg.optim.weight_decay), cfg.optim, total_steps=budget)
    ema = ModelEMA(model, cfg.ema_decay) if cfg.ema_decay > 0 else None
    validates = valid is not None and score is not None
    tracker = Tracker(opts.monitor, cfg.patience, cfg.min_delta, cfg.min_steps, cfg.plateau) \
        if validates and opts.monitor else None
    keep_best = tracker is not None and cfg.restore_best

    step, history, stopped, best_weights, rng = 0, [], None, None, None
    state = load_checkpoint(opts.checkpoint) if opts.checkpoint is not None else None
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if ema is not None and state.get("ema") is not None:
            ema.load_state_dict(state["ema"])
        step, history, stopped = int(state["step"]), list(state["history"]), state.get("stop_reason")
        if tracker is not None and state.get("tracker") is not None:
            tracker.load_state_dict(state["tracker"])
        best_weights, rng = state.get("best_model"), state.get("rng")

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    notify(Progress("start", opts.stage, step // steps_per_epoch, epochs, step % steps_per_epoch, steps_per_epoch,
                    total_steps=budget, folder=opts.checkpoint.parent if opts.checkpoint is not None else None))
    started, seen, lr = time.perf_counter(), 0, cfg.optim.lr
    sums: dict[str, float] = {}  # training loss parts since the last evaluation point
    while step < budget and stopped is None:
        epoch, position = divmod(step, steps_per_epoch)
        augment_rng = torch.Generator()
        if position == 0:
            torch.manual_seed(_epoch_seed(opts.seed, epoch))  # dropout, drop-path: same draws on resume
            augment_rng.manual_seed(_epoch_seed(opts.seed, epoch) + 1)
        sampler.set_epoch(epoch)
        batches = iter(loader(train, sampler))  # draws from torch's generator: before a mid-epoch restore
        if position > 0:  # resumed inside an epoch: continue the generators where the checkpoint left them
            _restore_rng(rng, augment_rng, device)
        augmenter = Augmenter(cfg.augment, augment_rng, sensor_fill=opts.sensor_fill)
        model.train()
        optimizer_train_mode(optimizer)
        for i, batch in enumerate(itertools.islice(batches, position, None), start=position):
            lr = lr_at(cfg.optim, step, budget, steps_per_epoch) * (tracker.lr_scale if tracker is not None else 1.0)
            set_lr(optimizer, lr)
            x, mask, target, teacher, recon, demo = _augmented(batch, augmenter, opts.physics_index, device)
            if opts.teacher_fn is not None:
                with torch.no_grad():
                    teacher = opts.teacher_fn(x, mask, demo)
            mix = augmenter.manifold_mix(mask, mixed_layers)
            if mix is not None:  # the hidden features' λ also blends what the loss compares them with
                mask, target, teacher, recon = mix.mask, mix.blend(target), mix.blend(teacher), mix.blend(recon)
                demo = mix.blend(demo)
            with autocast(device, opts.amp), manifold_hook(model, mix):
                outputs = forward(x, mask, **demographics_input(model, demo))
            loss, parts = objective(outputs, target, teacher_logits=teacher, recon_target=recon, mask=mask)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.optim.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.optim.grad_clip)
            optimizer.step()
            if ema is not None:
                ema.update(model)
            step += 1
            if ema is not None and cfg.ema_switch and step % steps_per_epoch == 0:
                ema.copy_to(model)  # Switch EMA, before the checkpoint: a resumed run continues from the switch
            seen += len(x)
            sums["steps"] = sums.get("steps", 0.0) + 1
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + v
            rate = seen / max(time.perf_counter() - started, 1e-9)
            notify(Progress("step", opts.stage, epoch, epochs, i + 1, steps_per_epoch,
                            {**parts, "lr": lr, "samples_per_s": rate}, total_steps=budget))
            if not _evaluates_at(step, budget, steps_per_epoch, cfg.eval_every_steps):
                continue
            if env.enabled:
                _sync_from_rank0(model, ema)
            record = {"epoch": _epochs_done(step, steps_per_epoch), "step": step, "lr": lr,
                      **{f"train_{k}": v / sums["steps"] for k, v in sums.items() if k != "steps"}}
            sums = {}
            if validates:
                _to_eval_weights(model, optimizer, ema, train, cfg, device)
                evaluated = _eval_model(model, ema)
                scores = score(valid.labels.numpy(), predict(evaluated, valid, cfg.eval_batch_size, device, opts.amp))
                record.update({f"val_{k}": v for k, v in scores.items()})
                if tracker is not None:
                    verdict = tracker.observe(_from_rank0(_monitored(scores, tracker.key), device, env), step)
                    if verdict.is_best and keep_best:
                        best_weights = {k: v.detach().to("cpu", copy=True) for k, v in evaluated.state_dict().items()}
                    stopped = verdict.stop
                optimizer_train_mode(optimizer)
                model.train()
            history.append(record)
            if opts.checkpoint is not None and env.is_main:
                save_checkpoint(opts.checkpoint, {
                    "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "ema": ema.state_dict() if ema is not None else None,
                    "epoch": step // steps_per_epoch, "step": step, "history": history, "stop_reason": stopped,
                    "tracker": tracker.state_dict() if tracker is not None else None, "best_model": best_weights,
                    "rng": _rng_state(augment_rng, device) if step % steps_per_epoch else None})
            # reported only once its checkpoint is on disk: a caller that stops the run from this
            # report (or a kill that follows it) loses nothing `resume` cannot restore
            notify(Progress("epoch", opts.stage, step // steps_per_epoch, epochs, step % steps_per_epoch or steps_per_epoch,
                            steps_per_epoch, record, total_steps=budget))
            if step >= budget or stopped is not None:
                break
    _to_eval_weights(model, optimizer, ema, train, cfg, device)  # schedule-free: keep the averaged weights
    seconds = time.perf_counter() - started
    final = _eval_model(model, ema)
    if keep_best and best_weights is not None:
        final.load_state_dict(best_weights)
    report = stop_report(tracker, budget=budget, step=step, reason=stopped,
                         restored=keep_best and best_weights is not None)
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None
    result = FitResult(final.eval(), history, seconds, seen / seconds if seconds > 0 else math.nan, peak, report)
    notify(Progress("end", opts.stage, epochs, epochs, steps_per_epoch, steps_per_epoch, result.best_record,
                    total_steps=budget))
    return result


def _fit_closed_form(model, train: SequenceTensors, cfg: TrainConfig, objective: Objective, opts: FitOptions,
                     valid: SequenceTensors | None, score: ScoreFn | None, notify: ProgressFn) -> FitResult:
    """`fit` for a closed-form model: one solve on the training set (soft targets count by their
    argmax: pseudo-labelled sequences too), plus, with modality dropout, a copy of the sequences it
    would drop with their sensors dropped; then one validation score."""
    device = opts.device
    folder = opts.checkpoint.parent if opts.checkpoint is not None else None
    notify(Progress("start", opts.stage, 0, 1, 0, 1, total_steps=1, folder=folder))
    started = time.perf_counter()
    x, mask, labels = train.x, train.mask, train.targets.argmax(1)
    if cfg.augment.modality_dropout_p > 0:  # the IMU-only views stepped models see, as extra rows
        generator = torch.Generator().manual_seed(_epoch_seed(opts.seed, 0) + 1)
        dropped = Augmenter(cfg.augment, generator, sensor_fill=opts.sensor_fill).drop_sensors(x, mask)
        extra = ~((dropped == x) | (dropped.isnan() & x.isnan())).flatten(1).all(1)
        x, mask, labels = torch.cat([x, dropped[extra]]), torch.cat([mask, mask[extra]]), torch.cat([labels, labels[extra]])
    report = model.fit_closed_form(x.to(device), mask.to(device), labels.numpy(), batch_size=cfg.eval_batch_size,
                                   seed=opts.seed, binary_classes=objective.binary_classes)
    seconds = time.perf_counter() - started
    record: dict[str, float] = {"epoch": 1, "step": 0, **report}
    if valid is not None and score is not None:
        scores = score(valid.labels.numpy(), predict(model, valid, cfg.eval_batch_size, device, opts.amp))
        record.update({f"val_{k}": v for k, v in scores.items()})
    notify(Progress("epoch", opts.stage, 1, 1, 1, 1, record, total_steps=1))
    stopping = {**stop_report(None, budget=0, step=0, reason=CLOSED_FORM, restored=False),
                "monitor": opts.monitor or None}
    result = FitResult(model.eval(), [record], seconds, len(train) / seconds if seconds > 0 else math.nan,
                       torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None, stopping)
    notify(Progress("end", opts.stage, 1, 1, 1, 1, record, total_steps=1))
    return result


def _evaluates_at(step: int, budget: int, steps_per_epoch: int, every: int) -> bool:
    return step >= budget or (step % every == 0 if every else step % steps_per_epoch == 0)


def _epochs_done(step: int, steps_per_epoch: int) -> int | float:
    epochs = step / steps_per_epoch
    return int(epochs) if epochs.is_integer() else round(epochs, 3)


def _monitored(scores: dict[str, float], key: str) -> float:
    if key not in scores:
        raise EdgekitError(f"the monitored metric {key!r} is not among the validation scores {sorted(scores)}; "
                           "expected train.monitor to name one of them")
    return float(scores[key])


def _from_rank0(value: float, device: torch.device, env) -> float:
    """Under DDP every rank must stop at the same step: all take rank 0's value."""
    if not env.enabled:
        return value
    tensor = torch.tensor([value], dtype=torch.float64, device=device)
    torch.distributed.broadcast(tensor, src=0)
    return float(tensor.item())


def _rng_state(augment_rng: torch.Generator, device: torch.device) -> dict[str, torch.Tensor]:
    """The generators a step inside an epoch draws from (dropout and friends, augmentations)."""
    state = {"torch": torch.get_rng_state(), "augment": augment_rng.get_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _restore_rng(state: dict[str, torch.Tensor] | None, augment_rng: torch.Generator, device: torch.device) -> None:
    if state is None:
        raise EdgekitError("the checkpoint stops inside an epoch but holds no generator states (written by an "
                           "older edgekit); delete it to start this stage over")
    torch.set_rng_state(state["torch"])
    augment_rng.set_state(state["augment"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


def _sync_from_rank0(model: torch.nn.Module, ema: ModelEMA | None) -> None:
    """DDP keeps parameters equal but not buffers: BatchNorm running statistics drift per rank
    (rank 0's are broadcast before each forward, then each rank updates its own). Copy rank 0's
    state to every rank at each evaluation point, so evaluation and the written files agree across
    ranks."""
    for module in (model, ema.module if ema is not None else None):
        if module is None:
            continue
        for tensor in list(module.parameters()) + list(module.buffers()):
            torch.distributed.broadcast(tensor.data, src=0)


def _to_eval_weights(model, optimizer, ema, train: SequenceTensors, cfg: TrainConfig, device) -> None:
    """Schedule-free: switch to the averaged weights and, as its authors advise, re-estimate
    BatchNorm statistics for them with a few no-grad train-mode passes. No-op for AdamW."""
    optimizer_eval_mode(optimizer)
    if not cfg.optim.name.schedule_free or ema is not None:
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
    demo = batch["demographics"].to(device) if "demographics" in batch else None
    x_mirrored = batch["x_mirrored"].to(device) if "x_mirrored" in batch else None
    index = list(physics_index)
    recon = x[..., index] if index else None
    recon_mirrored = x_mirrored[..., index] if index and x_mirrored is not None else None
    k = target.shape[1]
    # teacher logits and demographics ride along with the labels so mixup/cutmix blend them with the
    # same weights (mirroring keeps a sequence's demographics: it changes the view, not the person)
    riders = [t for t in (teacher, demo) if t is not None]
    joint = torch.cat([target, *riders], dim=1) if riders else target
    x, mask, joint, recon = augmenter(x, mask, joint, x_mirrored=x_mirrored, recon_target=recon,
                                      recon_mirrored=recon_mirrored)
    teacher_k = k + (teacher.shape[1] if teacher is not None else 0)
    return (x, mask, joint[:, :k], (joint[:, k:teacher_k] if teacher is not None else None), recon,
            (joint[:, teacher_k:] if demo is not None else None))


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
        demo = demographics_input(model, batch["demographics"].to(device) if "demographics" in batch else None)
        views = [_dropped_start(x, mask, s) for s in tta_shifts if s > 0]
        logits = []
        for vx, vm in [(x, mask), *views]:
            with autocast(device, amp):
                logits.append(model(vx, vm, **demo).float())
        out.append(torch.stack(logits).mean(0).cpu())
    model.train(was_training)
    return torch.cat(out).numpy() if out else np.zeros((0, 0), np.float32)


def _dropped_start(x: torch.Tensor, mask: torch.Tensor, s: int) -> tuple[torch.Tensor, torch.Tensor]:
    keep = mask.sum(1) > s
    shifted_x = torch.cat([x[:, s:], torch.zeros_like(x[:, :s])], dim=1)
    shifted_m = torch.cat([mask[:, s:], torch.zeros_like(mask[:, :s])], dim=1)
    return torch.where(keep[:, None, None], shifted_x, x), torch.where(keep[:, None], shifted_m, mask)
