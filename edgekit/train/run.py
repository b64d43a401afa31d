"""`edgekit train`: features → folds → teacher ensemble → distilled student → reports, in a run dir.

    result = train(TrainRequest(recipe, teacher="ensemble", out=Path("runs/quickstart")), on_progress=...)

Teacher modes (`--teacher`):
- `ensemble`: every member of `[teachers]` over K subject-grouped folds (finished folds in the
  run directory are reused), stacked; the student is distilled from the OOF soft labels;
- a registry teacher name: an ensemble of that one model (options from the recipe's member of
  that name, if any);
- a run directory: its ensemble's OOF/test logits and stacker are reused (same training data);
- `none`: the student alone, same seed and loss without KD, so the gain of distillation shows.

Pseudo-labels (`--unlabeled PATH`): the teachers label the unlabelled sequences and the confident
ones join the student's training part. With `distill.pseudo_rounds = R` (G2Net) they first join
the teachers': R times, the latest teachers label the sequences and every fold is trained again
with them in its training part (never its validation part); the student learns from the last
round (`stages.teacher_rounds` says where each round lives).

Experiment logs (`logs.py`, `[logging]`): every stage's progress events are written to its
`log.csv` (and TensorBoard/MLflow when enabled) before they reach `on_progress`; metrics.json's
`logs` links them.

Reuse and resume (`stages.py`): every stage (teacher fold, student) records a fingerprint of its
inputs in `stage.json`. Before anything is written, the run directory is checked: a non-empty
folder that is not a run, or a stage trained from other inputs, is refused in one line naming the
differing keys (`force` trains into the folder, removing those stages and what was made from
them). Finished matching folds are reused; unfinished stages restart from scratch unless `resume`
is set, then they continue from their last epoch checkpoint; a student trained from scratch takes
the old student's `export/` and metrics with it. Under torchrun every rank runs the same stages in
lockstep (DDP inside the loop) and the run directory receives identical, atomically renamed files.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np

from edgekit.errors import EdgekitError
from edgekit.io import write_json_atomic, write_text_atomic
from edgekit.paths import ensure_writable_dir
from edgekit.rundir import RunDir
from edgekit.train.config import ModelConfig, Recipe
from edgekit.train.loop import ProgressFn
from edgekit.train.recipe import dump_recipe, recipe_to_dict

TEACHER_MODES = ("ensemble", "none", "<teacher model name>", "<run dir>")
StageFn = Callable[[str, dict], None]


@dataclass
class TrainRequest:
    recipe: Recipe
    teacher: str = "ensemble"
    student: str | None = None  # overrides recipe.student.name
    out: Path | None = None  # default runs/<recipe name>[-<teacher mode>]
    resume: bool = False
    force: bool = False  # train into a non-run folder / replace stages trained from other inputs
    unlabeled: Path | None = None
    command: str = ""  # recorded at the top of the resolved recipe.toml


def default_out(recipe: Recipe, teacher: str) -> Path:
    tag = "" if teacher == "ensemble" else f"-{Path(teacher).name if Path(teacher).is_dir() else teacher}"
    return Path("runs") / f"{recipe.name}{tag}"


def train(req: TrainRequest, *, on_progress: ProgressFn | None = None, on_stage: StageFn | None = None) -> dict:
    from edgekit.train.logs import RunLoggers

    # every stage's progress goes through the experiment logs (`logs.py`), then to `on_progress`
    with RunLoggers(then=on_progress) as loggers:
        return _train(req, loggers, on_stage)


def _train(req: TrainRequest, loggers, on_stage: StageFn | None) -> dict:
    from edgekit.train.device import init_distributed, resolve_device, set_threads
    from edgekit.train.distill import check_teachers_held_out, train_student
    from edgekit.train.ensemble import load_ensemble, train_ensemble
    from edgekit.train.logs import check_extras
    from edgekit.train.prepare import prepare, prepare_unlabeled
    from edgekit.train.stages import check_out_folder, claim_run_dir, discard, plan_stages, record_planned
    from edgekit.train.tta import check_tta

    on_progress = loggers.on_progress

    # --teacher/--student are applied to a copy: the caller's recipe stays what it asked for
    req = replace(req, recipe=copy.deepcopy(req.recipe))
    recipe = req.recipe
    stage = on_stage or (lambda name, info: None)
    set_threads(recipe.device.threads)
    device = resolve_device(recipe.device.device)
    env = init_distributed(device)
    members, teacher_dir = _teacher_plan(req)
    _check_pseudo_labels(req, members, teacher_dir)
    if req.student:
        if req.student != recipe.student.name:
            recipe.student.options = {}  # the recipe's options belong to its own student
        recipe.student.name = req.student
    from edgekit.train.recipe import validate

    validate(recipe, "recipe (after --teacher/--student)")
    check_extras(recipe.logging)  # before minutes of data preparation
    run = RunDir(req.out or default_out(recipe, req.teacher))
    ensure_writable_dir(run.root, "--out")  # library callers too, not only the CLI
    check_out_folder(run, force=req.force)
    timings: dict[str, float] = {}
    started = time.perf_counter()

    t0 = time.perf_counter()
    data = prepare(recipe, needs_folds=members is not None)
    timings["data_s"] = round(time.perf_counter() - t0, 2)
    check_tta(recipe.teachers.tta, data.spec)
    stage("data", {"train": len(data.train), **{k: len(v) for k, v in data.tests.items()},
                   "channels": len(data.channels), "classes": data.num_classes, "device": str(device)})
    plan = plan_stages(recipe, data, run, train_teachers=members is not None, teacher_run=teacher_dir,
                       unlabeled=req.unlabeled)
    stale = claim_run_dir(run, plan, resume=req.resume, force=req.force)  # raises before any write
    if env.is_main:  # rank 0 alone, so no rank deletes what another one has just written
        discard(stale)
        _write_data_files(run, recipe, req, data, plan.teachers_fingerprint)
        record_planned(plan)
    if env.enabled:
        import torch

        torch.distributed.barrier()
    loggers.start(recipe.logging, run.root, params=recipe_to_dict(recipe), name=recipe.name, resumed=req.resume,
                  active=env.is_main)

    ensemble = None
    unlabeled = prepare_unlabeled(req.unlabeled, recipe, data) if req.unlabeled is not None else None
    t0 = time.perf_counter()
    if members is not None:
        extra, rounds = None, []
        for r, (where, fingerprint) in enumerate(plan.rounds):
            tag = f"round {r}/{len(plan.rounds) - 1} " if len(plan.rounds) > 1 else ""
            ensemble = train_ensemble(recipe, data, where, members, device=device, resume=req.resume,
                                      on_progress=on_progress, fingerprint=fingerprint, extra=extra, tag=tag)
            if r + 1 < len(plan.rounds):  # this round's teachers label the sequences the next one trains on
                extra = _pseudo_labels(recipe, data, where, unlabeled, device)
                rounds.append({"round": r, "pseudo_labelled": int(len(extra[0])), "oof": ensemble.report["oof"],
                               "test": ensemble.report["test"]})
                stage("pseudo round", rounds[-1])
        if rounds:
            ensemble.report["pseudo_rounds"] = rounds
        teacher_dir = run
    elif teacher_dir is not None:
        ensemble = load_ensemble(teacher_dir, data)
        if recipe.distill.alpha_candidates:
            check_teachers_held_out(recipe, data, teacher_dir, "distill.alpha_candidates would choose α")
    timings["teachers_s"] = round(time.perf_counter() - t0, 2)
    if ensemble is not None:
        stage("teachers", ensemble.report)

    extra = _pseudo_labels(recipe, data, teacher_dir, unlabeled, device) if unlabeled is not None else None

    t0 = time.perf_counter()
    student_cfg = ModelConfig(recipe.student.name, recipe.student.options)
    soft = ensemble.soft_labels(recipe.distill.soft_labels) if ensemble is not None else None
    student = train_student(recipe, data, run.student, student_cfg, device=device, teacher_oof=soft, extra=extra,
                            resume=req.resume, on_progress=on_progress, fingerprint=plan.student.record.fingerprint,
                            teacher_run=teacher_dir)
    timings["student_s"] = round(time.perf_counter() - t0, 2)
    stage("student", student.report)

    timings["total_s"] = round(time.perf_counter() - started, 2)
    metrics = _metrics(recipe, req, data, ensemble, student, timings, str(device))
    metrics["logs"] = loggers.links([s.folder for s in plan.stages])
    if env.is_main:
        write_json_atomic(run.metrics, metrics)
        _plots(run, data, student)
        loggers.finish([run.metrics, run.recipe])
    return {"run_dir": str(run.root), **metrics}


def _teacher_plan(req: TrainRequest) -> tuple[list[ModelConfig] | None, RunDir | None]:
    """(members to train, or None) and (an existing run dir to reuse, or None)."""
    from edgekit.models import list_models

    mode, recipe = req.teacher, req.recipe
    if mode == "none":
        return None, None
    if mode == "ensemble":
        if not recipe.teachers.members:
            raise EdgekitError("--teacher ensemble but the recipe's [teachers] has no members; add "
                               "[[teachers.members]] tables or use --teacher none")
        return list(recipe.teachers.members), None
    if mode in list_models(kind="teacher"):
        options = next((m.options for m in recipe.teachers.members if m.name == mode), {})
        recipe.teachers.members = [ModelConfig(mode, dict(options))]
        return list(recipe.teachers.members), None
    if Path(mode).is_dir():
        return None, RunDir(Path(mode))
    raise EdgekitError(f"--teacher {mode!r}: not a mode, a teacher model or a run directory; expected one of "
                       f"ensemble, none, a teacher ({', '.join(list_models(kind='teacher'))}) or an existing run dir")


def _check_pseudo_labels(req: TrainRequest, members: list[ModelConfig] | None, teacher_dir: RunDir | None) -> None:
    """Refuse, before anything is read or written, pseudo-labels without teachers to make them."""
    rounds = req.recipe.distill.pseudo_rounds
    if req.unlabeled is not None and members is None and teacher_dir is None:
        raise EdgekitError("--unlabeled needs teachers to label the sequences; use --teacher ensemble or RUN_DIR")
    if rounds and (req.unlabeled is None or members is None):
        raise EdgekitError(f"distill.pseudo_rounds = {rounds} retrains the teachers on pseudo-labelled sequences: it "
                           "needs --unlabeled PATH (the sequences to label) and teachers this command trains "
                           f"(--teacher ensemble or a teacher name, not {req.teacher!r}); or set distill.pseudo_rounds = 0")


def _pseudo_labels(recipe: Recipe, data, teachers: RunDir, unlabeled, device):
    """The unlabelled sequences `teachers` are at least `distill.pseudo_min_confidence` sure of,
    with the ensemble's log-probabilities (the teachers' TTA views included)."""
    from edgekit.train.distill import pseudo_labelled
    from edgekit.train.ensemble import predict_ensemble

    logp = predict_ensemble(teachers, unlabeled, data.num_classes, device=device,
                            batch_size=recipe.train.eval_batch_size, tta_shifts=tuple(recipe.teachers.tta_shifts),
                            kind=recipe.distill.soft_labels, tta=tuple(recipe.teachers.tta), scaler=data.scaler)
    return pseudo_labelled(unlabeled, logp, recipe.distill.pseudo_min_confidence)


def _write_data_files(run: RunDir, recipe: Recipe, req: TrainRequest, data, teachers_fingerprint: str | None) -> None:
    # data.json first: it is what marks the folder as a run (RunDir.is_run) if the rest is cut short
    write_json_atomic(run.data, {
        "class_names": list(data.class_names), "channels": list(data.channels), "length": recipe.data.length,
        "keep": recipe.data.keep, "padding": "right", "sample_period_s": data.spec.sample_period_s if data.spec else None,
        "feature_spec_hash": data.spec.hash() if data.spec else None, "source": data.source,
        "train_ids_digest": data.ids_digest(), "teacher_fingerprint": teachers_fingerprint,
        "folds": [va.tolist() for _, va in data.folds], "held_out": data.held_out.tolist(), **data.info,
    })
    header = f"{req.command or 'edgekit train'}\nresolved recipe written by edgekit train (overrides applied)"
    write_text_atomic(run.recipe, dump_recipe(recipe, header=header))
    if data.spec is not None:
        write_text_atomic(run.feature_spec, data.spec.to_json())
    elif run.feature_spec.exists():  # raw channels now: an older run's spec would describe other inputs
        run.feature_spec.unlink()
    data.scaler.save(run.scaler)


def _metrics(recipe: Recipe, req: TrainRequest, data, ensemble, student, timings: dict, device: str) -> dict:
    from edgekit.train.scoring import summary

    out = {
        "recipe": recipe.name, "teacher_mode": req.teacher, "device": device, "threads": _threads(), "data": data.info,
        "classes": list(data.class_names), "timings": timings,
        "student": {**{k: v for k, v in student.report.items() if k != "test"},
                    "test": {n: summary(r) for n, r in student.report["test"].items()},
                    "per_class": {n: r["per_class"] for n, r in student.report["test"].items()}},
    }
    if ensemble is not None:
        out["teachers"] = ensemble.report
    return out


def _threads() -> int:
    import torch

    return torch.get_num_threads()


def _plots(run: RunDir, data, student) -> None:
    from edgekit.plots import plot_confusion, plot_history

    primary = student.report["test"].get("test")
    if primary is not None:
        plot_confusion(np.asarray(primary["confusion"]), data.class_names, run.root / "confusion.png",
                       title=f"{student.name} on test")
    if student.history:
        plot_history(student.history, run.root / "student" / "history.png", title=f"{student.name} training")
