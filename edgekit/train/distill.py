"""The student: trained by the same loop, from hard labels alone or distilled from the ensemble.

Two teacher signals (`distill.mode`):
- `oof` (default): a fixed target per training sequence, the ensemble's out-of-fold
  log-probabilities (each from teachers that never saw that sequence's subject, so the soft labels
  carry no memorised training labels). Costs nothing per step; mixup/cutmix blend the targets with
  the labels. Preferable for short budgets, small augmentations or a tight compute budget.
- `function_matching` (Beyer et al. 2022, arXiv 2106.05237; `online_teacher.py`): every saved fold
  model of every member runs on the very augmented batch the student sees, every step, combined as
  the ensemble combines its members. The target follows the augmentation (a mixup blend gets the
  teachers' answer on the blend, not a blend of answers), which pays with strong augmentations and
  long ("patient") budgets; it costs one forward of every teacher (members × folds) per student
  step, and the fold models have seen most training sequences (accepted, as in the paper). The
  fold models are read from `train_student`'s `teacher_run` (default: the student's own run).

Out-of-fold guesses are wrong where the ensemble is (on ~4 % of UCI-HAR's training windows):
`distill.adjust = "swap"` ranks the true class first in those soft labels (`knowledge_adjusted`).

The `Objective` then adds α·CE(hard, smoothed) + (1−α)·T²·KL(student/T ‖
teacher/T) + λ·physics (Smooth-L1 reconstruction of `model.recon_index` input channels); α, T
and λ come from `[distill]` (λ defaults to the student's own `physics_weight`).

Pseudo-labels (`--unlabeled`): the ensemble labels extra sequences; those it is at least
`distill.pseudo_min_confidence` sure of join the training set with the ensemble's distribution as
their soft (class) target and, under `oof`, their teacher logits (under function matching the
online teachers give those, as for every sequence). With `distill.pseudo_rounds` the teachers are
first retrained on them, round by round (`run.py`), and the last round's teachers label them here.

Validation: `student.valid_fraction` of the training sequences (subject-grouped when the data has
enough subjects, else label-stratified: `validation_split`) is held out of the student's
training and monitored (`train.monitor`); the student keeps its best-scoring weights
(`train.restore_best`) and may stop early (`train.patience`), and its test metrics are those of
the weights it keeps. Pseudo-labelled sequences only ever join the training part.

Choosing α (`distill.alpha_candidates`): the student trains once per α (`distill.alpha` first; 1 =
its labels alone, no teacher signal at all), each from the same seed, split and initial weights
(each candidate's checkpoint under `student/alpha/<α>/`, so a resumed run continues it), and keeps
the one best on its validation split if it beats the largest α in `distill.alpha_confidence` of
bootstrap resamples of that split, else the largest α (`choose_alpha`; `alpha_search` and
`alpha_choice` in its report). That split must
be one the teachers never saw (`teachers.holdout`), else soft labels fitted on the validation
subjects make distillation look better there than it is.

`--teacher none` trains the same student with the same seed, split and loss minus the KD term, so
the gain of distillation is always measured against a like-for-like baseline.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np

from edgekit.io import write_json_atomic
from edgekit.rundir import RunDir, save_model
from edgekit.train.config import ModelConfig, Recipe, stage_budget
from edgekit.train.fingerprint import record_model
from edgekit.train.recipe import model_options
from edgekit.train.loop import FitOptions, FitResult, ProgressFn, fit, predict
from edgekit.train.losses import LossConfig
from edgekit.train.prepare import STUDENT_SEED_OFFSET, Prepared, student_validation
from edgekit.train.stopping import LOWER_IS_BETTER
from edgekit.train.scoring import binary_classes, full_report, log_probs, monitored_metric, quick_scores
from edgekit.train.tensors import Arrays, SequenceTensors

STAGE_TAGS = {"oof": " (distilled)", "function_matching": " (function matching)", "none": ""}  # by loss mode


class _Candidate(NamedTuple):  # one α of `train_student`'s search
    alpha: float
    loss: LossConfig
    result: FitResult
    seconds: float
    valid_logits: np.ndarray | None  # of the kept weights, when α is chosen on validation


@dataclass
class StudentResult:
    name: str
    tests: dict[str, np.ndarray]  # log-probs per test split
    report: dict
    history: list[dict]


def pseudo_labelled(arrays: Arrays, teacher_logp: np.ndarray, min_confidence: float) -> tuple[Arrays, np.ndarray]:
    """The unlabelled sequences the teachers are sure enough of, with their log-probabilities."""
    keep = np.exp(teacher_logp).max(1) >= min_confidence
    return arrays.subset(np.flatnonzero(keep)), teacher_logp[keep]


def train_student(recipe: Recipe, data: Prepared, folder: Path, student: ModelConfig, *, device,
                  teacher_oof: np.ndarray | None = None, extra: tuple[Arrays, np.ndarray] | None = None,
                  resume: bool = False, on_progress: ProgressFn | None = None,
                  fingerprint: str | None = None, teacher_run: RunDir | None = None) -> StudentResult:
    """`teacher_oof` (None: no teachers, no KD) says the student is distilled; under function
    matching the teachers' fold models are read from `teacher_run` (default: the run `folder` is in)."""
    import torch

    from edgekit.models import count_macs, count_params, create_model
    from edgekit.models.students.physics import with_physics_targets
    from edgekit.train.losses import Objective

    k = data.num_classes
    seed = recipe.seed + STUDENT_SEED_OFFSET
    # the physics head's targets by channel name (body acc + gyro, linacc + angvel), saved with the options
    options = with_physics_targets(student.name, model_options(student.name, student.options), data.channels)
    dcfg = recipe.distill
    train_idx, valid_idx, split = student_validation(recipe, data.train.labels, data.train_subjects)
    distilled = teacher_oof is not None
    arrays, targets = with_pseudo_labelled(data.train.subset(train_idx), k, extra if distilled else None)
    mode = dcfg.mode if distilled else "none"
    teacher = teacher_oof[train_idx] if mode == "oof" else None
    adjusted = 0
    if teacher is not None and dcfg.adjust == "swap":
        teacher, adjusted = knowledge_adjusted(teacher, data.train.labels[train_idx])
    if teacher is not None and extra is not None and len(extra[0]):
        teacher = np.concatenate([teacher, extra[1]])  # under `oof`, the ensemble's distribution is both
    online = None
    if mode == "function_matching":
        from edgekit.train.online_teacher import OnlineTeacher

        online = OnlineTeacher(teacher_run or RunDir(Path(folder).parent), k, device=device, amp=recipe.device.amp,
                               kind=dcfg.soft_labels, channels=data.channels)
    valid_t = SequenceTensors(data.train.subset(valid_idx), k) if len(valid_idx) else None
    monitor = monitored_metric(recipe.train.monitor, data.class_names) if valid_t is not None else ""
    score = (lambda y, z: quick_scores(y, z, data.class_names)) if valid_t is not None else None
    epochs, max_steps = stage_budget(recipe.train, recipe.student.epochs, recipe.student.max_steps)
    alphas = candidate_alphas(dcfg) if distilled else [dcfg.alpha]

    choosing = valid_t is not None and len(alphas) > 1
    tried: list[_Candidate] = []
    for alpha in alphas:
        kd = distilled and alpha < 1  # α = 1 is the student alone: no teacher signal at all
        torch.manual_seed(seed)  # every candidate starts from the same weights
        model = create_model(student.name, in_chs=len(data.channels), num_classes=k, **options)
        physics = dcfg.physics_weight if dcfg.physics_weight is not None else float(getattr(model, "physics_weight", 0.0))
        loss_cfg = replace(recipe.train.loss, kd_alpha=alpha, kd_temperature=dcfg.temperature, physics_weight=physics)
        objective = Objective(loss_cfg, k, binary_classes(data.class_names))
        train_t = SequenceTensors(arrays, k, targets=targets, teacher_logits=teacher if kd else None)
        checkpoint = RunDir.checkpoint_in(folder if len(alphas) == 1 else RunDir.candidate_in(folder, alpha))
        if checkpoint.exists() and not resume:
            checkpoint.unlink()
        tag = STAGE_TAGS[mode if kd else "none"] + (f" α={alpha:g}" if len(alphas) > 1 else "")
        opts = FitOptions(epochs=epochs, max_steps=max_steps, seed=seed, device=device,
                          stage=f"student {student.name}" + tag,
                          amp=recipe.device.amp, compile=recipe.device.compile, checkpoint=checkpoint,
                          physics_index=tuple(getattr(model, "recon_index", ())) if physics > 0 else (),
                          monitor=monitor, teacher_fn=online if kd else None, sensor_fill=data.sensor_fill)
        started = time.perf_counter()
        result = fit(model, train_t, recipe.train, objective, opts, valid=valid_t, score=score, on_progress=on_progress)
        seconds = time.perf_counter() - started
        valid_logits = predict(result.model, valid_t, recipe.train.eval_batch_size, device, recipe.device.amp) \
            if choosing else None
        tried.append(_Candidate(alpha, loss_cfg, result, seconds, valid_logits))
    choice = None
    if choosing:
        choice = choose_alpha([c.alpha for c in tried], [c.valid_logits for c in tried], data.train.labels[valid_idx],
                              lambda y, z: score(y, z)[monitor], lower_is_better=monitor in LOWER_IS_BETTER,
                              confidence=dcfg.alpha_confidence, seed=seed)
    alpha, loss_cfg, result = tried[choice.index if choice is not None else 0][:3]
    seconds = sum(c.seconds for c in tried)
    physics = loss_cfg.physics_weight

    tests, reports = {}, {}
    for name, test in data.tests.items():
        test_t = SequenceTensors(test, k, targets=np.zeros((len(test), k), np.float32))
        tests[name] = log_probs(predict(result.model, test_t, recipe.train.eval_batch_size, device, recipe.device.amp))
        if len(test) and (test.labels >= 0).all():
            reports[name] = full_report(test.labels, tests[name], data.class_names)
    final = result.model.cpu()
    save_model(folder, final, student.name,
               {"in_chs": len(data.channels), "num_classes": k, **options})
    record_model(folder)
    for name, logits in tests.items():
        with open(RunDir.logits_in(folder, name), "wb") as f:
            np.save(f, logits)
    report = {
        "name": student.name, "options": student.options, "distilled": distilled,
        "fingerprint": fingerprint,  # of the stage's inputs (student/stage.json); export records it
        "params": count_params(final), "macs": count_macs(final, len(data.channels), recipe.data.length),
        "loss": {"kd_alpha": loss_cfg.kd_alpha, "kd_temperature": loss_cfg.kd_temperature,
                 "physics_weight": physics, "kind": loss_cfg.kind.value,
                 "mode": mode if alpha < 1 else "none",  # "oof", "function_matching", or "none" (no KD)
                 "adjusted": adjusted},  # soft labels whose wrong top class was swapped with the true one
        **({"alpha_search": [{"alpha": c.alpha, "chosen": c.alpha == alpha, "seconds": round(c.seconds, 2),
                              **{key: c.result.stopping.get(key) for key in ("monitor", "best_value", "best_step",
                                                                             "stopped_at_step", "stop_reason")}}
                             for c in tried]} if len(tried) > 1 else {}),
        **({"alpha_choice": choice.report()} if choice is not None else {}),
        "pseudo_labelled": int(len(extra[0])) if extra is not None else 0,
        "train_sequences": int(len(arrays)), "validation": split,
        "val": {key[4:]: v for key, v in result.best_record.items() if key.startswith("val_")},
        "stopping": result.stopping,
        "seconds": round(seconds, 2), "train_samples_per_s": round(result.samples_per_s, 1),
        "peak_memory_gb": result.peak_memory_gb,
        "test": reports,
    }
    write_json_atomic(folder / "report.json", {**report, "history": result.history})
    return StudentResult(student.name, tests, report, result.history)


def check_teachers_held_out(recipe: Recipe, data: Prepared, teacher_run: RunDir, purpose: str) -> None:
    """Refuse to choose distillation settings on the student's validation split (`purpose`: what
    would be chosen) when the reused ensemble's folds did not leave that very split out."""
    from edgekit.errors import EdgekitError

    _, valid_idx, _ = student_validation(recipe, data.train.labels, data.train_subjects)
    theirs = teacher_run.read_json(teacher_run.data).get("held_out", [])
    if sorted(theirs) != sorted(valid_idx.tolist()):
        raise EdgekitError(f"--teacher {teacher_run.root}: its folds did not leave out this student's validation "
                           f"split ({len(theirs)} sequences held out, the split has {len(valid_idx)}), so {purpose} "
                           "on sequences the teachers saw; expected a run trained with teachers.holdout = "
                           "'student_validation' and the same student.valid_fraction and seed")


def candidate_alphas(dcfg) -> list[float]:
    """`distill.alpha` first, then the other `alpha_candidates` in their order."""
    return [dcfg.alpha, *dict.fromkeys(a for a in dcfg.alpha_candidates if a != dcfg.alpha)]


ALPHA_BOOTSTRAP_ROUNDS = 1000  # resamples of the validation split in `choose_alpha`


@dataclass(frozen=True)
class AlphaChoice:
    index: int  # of the kept candidate
    best: float  # the α that scored best on the whole validation split
    reference: float  # the largest α tried (least teacher signal; 1 = the labels alone)
    p_better: float | None  # share of bootstrap resamples where `best` beat `reference` (None: it is the reference)
    confidence: float

    def report(self) -> dict:
        return {"best_alpha": self.best, "reference_alpha": self.reference, "p_better": self.p_better,
                "confidence": self.confidence, "rounds": ALPHA_BOOTSTRAP_ROUNDS}


def choose_alpha(alphas: list[float], valid_logits: list[np.ndarray], labels: np.ndarray, metric,
                 *, lower_is_better: bool, confidence: float, seed: int = 0) -> AlphaChoice:
    """Which α to keep, from each candidate's validation logits (`metric(labels, logits)`: the
    monitored metric). The teachers' share has to earn its place: the candidate that scores best
    on the whole split (a tie goes to the larger α) is kept only if it beats the largest α tried
    in at least `confidence` of `ALPHA_BOOTSTRAP_ROUNDS` paired resamples of the validation
    sequences; otherwise the largest α is kept. On UCI-HAR, α 0.9 and a student distilled from
    two held-out students each scored 0.06 points of macro-F1 over the labels alone on 1,219
    validation windows (better in 57 % and 56 % of resamples) and lost 0.4-0.5 points on the test
    set. The resamples treat sequences as independent, which windows of one subject are not:
    `confidence` is a floor, not a calibrated probability."""
    sign = -1.0 if lower_is_better else 1.0
    values = [sign * metric(labels, z) for z in valid_logits]
    reference = max(range(len(alphas)), key=lambda i: alphas[i])
    best = max(range(len(alphas)), key=lambda i: (values[i], alphas[i]))
    if best == reference:
        return AlphaChoice(best, alphas[best], alphas[reference], None, confidence)
    rng = np.random.default_rng(seed)
    wins = 0
    for _ in range(ALPHA_BOOTSTRAP_ROUNDS):
        rows = rng.integers(0, len(labels), len(labels))
        y = labels[rows]
        wins += int(sign * metric(y, valid_logits[best][rows]) > sign * metric(y, valid_logits[reference][rows]))
    p_better = wins / ALPHA_BOOTSTRAP_ROUNDS
    return AlphaChoice(best if p_better >= confidence else reference, alphas[best], alphas[reference], p_better,
                       confidence)


def knowledge_adjusted(teacher_logp: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, int]:
    """`(soft labels, how many were changed)`: each row of `teacher_logp` `(N, K)` whose top class
    is not its label gets the two classes' values swapped (Wen et al. 2019's Knowledge
    Adjustment): the true class ranks first at the confidence the teacher gave its guess, the
    guess takes the true class's value, and the other classes keep theirs (a row still sums to 1)."""
    out = np.array(teacher_logp, copy=True)
    rows = np.flatnonzero(out.argmax(1) != labels)
    guess, true = out[rows].argmax(1), labels[rows]
    out[rows, guess], out[rows, true] = out[rows, true], out[rows, guess]
    return out, int(len(rows))


def with_pseudo_labelled(arrays: Arrays, num_classes: int,
                         extra: tuple[Arrays, np.ndarray] | None) -> tuple[Arrays, np.ndarray]:
    """`(arrays, soft targets)` of a training part: its labelled sequences (one-hot targets) and,
    after them, the pseudo-labelled ones of `extra` (their target: the ensemble's distribution).
    Used for the student and for the teacher folds of pseudo-label rounds; callers pass only a
    training part, so pseudo-labelled sequences never reach a validation part."""
    targets = np.eye(num_classes, dtype=np.float32)[arrays.labels]
    if extra is None or not len(extra[0]):
        return arrays, targets
    ex_arrays, ex_logp = extra
    return _concat(arrays, ex_arrays), np.concatenate([targets, np.exp(ex_logp).astype(np.float32)])


def _concat(a: Arrays, b: Arrays) -> Arrays:
    joined = {}
    for f in fields(Arrays):
        first, second = getattr(a, f.name), getattr(b, f.name)
        if f.name == "x_mirrored" and first is not None and second is None:
            second = b.x  # unlabelled data without mirrored features: the sequence itself (mirroring is a no-op)
        joined[f.name] = np.concatenate([first, second]) if first is not None and second is not None else None
    return Arrays(**joined)
