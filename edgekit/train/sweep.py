"""`edgekit sweep`: hyper-parameter search over recipe keys with Optuna (`edgekit[sweep]`).

    result = sweep(SweepRequest(recipe, load_space("space.toml"), trials=20, out=Path("sweeps/quickstart")))

A trial trains one stage of the recipe, with the trial's values (`search_space.py`) applied as
`key=value` overrides, in `out/trial_<n>/`:
- `student` (default): the student alone (no teachers, no KD, like `--teacher none`), scored on
  its validation split (`student.valid_fraction`); with `teacher` (`--teacher RUN_DIR`) it is
  distilled from that run's ensemble, as `edgekit train --teacher RUN_DIR` would, so the KD keys
  (`distill.alpha`, `distill.temperature`, `distill.mode`) are chosen by validation too. That run's
  folds must have left the student's validation split out (`teachers.holdout`), or the sweep
  refuses: teachers fitted on the validation subjects make distillation look better there;
- `teachers`: one member of `[teachers]` over the recipe's folds, scored on its out-of-fold
  predictions.
The objective is that validation score on `train.monitor` (macro-F1 by default; minimised for
`loss`). The test split is never evaluated: a trial trains on `prepare`'s data with its test sets
removed (the held-out test subjects stay out of training, as in `edgekit train`), so choosing by
the objective leaves the test set for the final `edgekit train` of the best recipe.

Pruning: every validation during training is reported to the trial (its step: the trial's n-th
validation, so trials compare like for like) and the pruner (default: median of the earlier
trials at that step, after `PRUNE_STARTUP` trials and the first validation) may stop it. The
progress callback then raises `optuna.TrialPruned`, which ends `fit` like any error (`loop.py`);
Optuna records the trial as pruned.

Storage and resume: the study lives in an RDB storage (default `sqlite:///<out>/study.db`). A
rerun with the same storage and study name continues it: `trials` is the total wanted, so only
the trials it lacks run (pruned ones count; failed ones do not). Trials record a heartbeat; a trial
left RUNNING by a kill is marked FAIL once its heartbeat is `GRACE_S` old (checked as each trial
starts) and a new trial takes its place. The study records the recipe, space and stage it was
made from, and a rerun with others is refused. When the recipe's own value of every key lies in
the space, trial 0 of a new study runs them, so the results show what the search gained over them.

`jobs` > 1: that many spawned processes (each its own torch, with its share of the CPU threads),
each running its share of the missing trials against the same storage.

The best trial is written as `out/best_recipe.toml`, the whole recipe, for `edgekit train --recipe`.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Literal

from edgekit.config_io import to_plain
from edgekit.errors import EdgekitError
from edgekit.io import write_json_atomic, write_text_atomic
from edgekit.paths import ensure_writable_dir
from edgekit.rundir import RunDir
from edgekit.train.config import ModelConfig, Recipe
from edgekit.train.fingerprint import differences, flatten, show
from edgekit.train.loop import ProgressFn
from edgekit.train.recipe import RecipeError, apply_overrides, dump_recipe, recipe_from_dict, recipe_to_dict
from edgekit.train.search_space import Param, SpaceError, check_space, override

Stage = Literal["student", "teachers"]
STAGES = ("student", "teachers")
HEARTBEAT_S, GRACE_S = 10, 60  # a RUNNING trial without a heartbeat for GRACE_S was killed
PRUNE_STARTUP = 3  # trials that finish before the median pruner stops any
MARKER = "sweep.json"  # in `out`: the study whose trials the folder holds
BEST_RECIPE = "best_recipe.toml"


class SweepError(EdgekitError):
    """A sweep cannot run as asked; the message names the flag or key."""


@dataclass
class SweepRequest:
    recipe: Recipe
    space: dict[str, Param]
    trials: int  # the study's total: a resumed study runs only the trials it lacks
    out: Path
    storage: str | None = None  # an Optuna RDB URL; default sqlite:///<out>/study.db
    study_name: str | None = None  # default <recipe name>-<stage or member>
    jobs: int = 1
    stage: Stage = "student"
    member: str | None = None  # --stage teachers: the member to train (default: the recipe's only one)
    teacher: Path | None = None  # --stage student: distil from this run's teachers (None: the student alone)
    command: str = ""  # recorded at the top of best_recipe.toml


@dataclass
class TrialRow:
    number: int
    state: str  # COMPLETE, PRUNED, FAIL, RUNNING, WAITING
    value: float | None
    params: dict[str, Any]
    validations: int  # intermediate values reported (a pruned trial: where it stopped)
    seconds: float | None
    baseline: bool  # ran the recipe's own values
    note: str = ""  # why a trial failed


@dataclass
class SweepResult:
    study_name: str
    storage: str
    stage: str
    metric: str  # the validation score optimised (`val <metric>`)
    direction: str
    ran: int  # trials this call ran
    trials: list[TrialRow]
    best: TrialRow | None
    best_recipe: str | None  # path of the best trial's recipe
    space: dict[str, str] = field(default_factory=dict)  # key -> its range, for display


TrialFn = Callable[[TrialRow], None]


@dataclass(frozen=True)
class _Job:
    """What a worker process needs to run trials: plain, picklable data."""

    raw: dict  # the recipe as a dict, the trial's overrides applied on top
    space: dict[str, Param]
    stage: str
    member: str | None
    teacher: str | None  # the teacher run's folder, for --stage student with --teacher
    out: str
    storage: str
    study_name: str
    threads: int
    seed: int
    pruner: Any


def sweep(req: SweepRequest, *, pruner=None, on_progress: ProgressFn | None = None,
          on_trial: TrialFn | None = None) -> SweepResult:
    """Run the trials the study lacks; `on_progress` (training) and `on_trial` (each finished
    trial) are called only with `jobs` = 1, where the trials run in this process."""
    optuna = _optuna()
    if req.trials < 1 or req.jobs < 1:
        raise SweepError(f"--trials {req.trials} / --jobs {req.jobs}: expected both at least 1")
    if req.stage not in STAGES:
        raise SweepError(f"--stage {req.stage!r}: expected one of {', '.join(STAGES)}")
    raw = recipe_to_dict(req.recipe)
    member = _member(req)
    teacher = _teacher(req)
    check_space(req.space, raw)
    out = ensure_writable_dir(req.out, "--out")
    storage = req.storage or f"sqlite:///{(out / 'study.db').resolve()}"
    if ":memory:" in storage:  # trial folders and resume need the study to outlive this process
        raise SweepError(f"--storage {storage}: an in-memory database; expected a file or server, e.g. "
                         "sqlite:///study.db (the default is <out>/study.db)")
    study_name = req.study_name or f"{req.recipe.name}-{member or req.stage}"
    _claim_out(out, study_name, storage)
    direction = "minimize" if req.recipe.train.monitor == "loss" else "maximize"
    study = _open_study(storage, study_name, direction, identity={
        "recipe": raw, "space": to_plain(req.space), "stage": req.stage, "member": member,
        **({"teacher": teacher} if teacher else {})})  # studies made before --teacher existed stay resumable
    if not study.trials:
        _enqueue_baseline(study, req.space, raw)
    missing = max(0, req.trials - sum(t.state.is_finished() and t.state.name != "FAIL" for t in study.trials))
    job = _Job(raw, req.space, req.stage, member, teacher, str(out), storage, study_name,
               _threads(req.recipe.device.threads, req.jobs), req.recipe.seed,
               pruner or optuna.pruners.MedianPruner(n_startup_trials=PRUNE_STARTUP, n_warmup_steps=1))
    if req.jobs == 1 or missing <= 1:
        _optimize(job, missing, worker=0, on_progress=on_progress, on_trial=on_trial)
    else:
        _in_processes(job, missing, req.jobs)
    return _result(job, direction, missing, req)


def _member(req: SweepRequest) -> str | None:
    members = [m.name for m in req.recipe.teachers.members]
    if req.stage == "student":
        if req.member is not None:
            raise SweepError(f"--member {req.member}: only for --stage teachers (this sweep trains the student)")
        if req.recipe.student.valid_fraction == 0:
            raise SweepError("--stage student is scored on the student's validation split and student.valid_fraction "
                             "= 0 gives it none; expected student.valid_fraction > 0 (e.g. 0.15)")
        return None
    if not members:
        raise SweepError("--stage teachers trains a member of the recipe's [teachers] and it has none; add a "
                         "[[teachers.members]] table")
    if req.member is None and len(members) > 1:
        raise SweepError(f"--stage teachers trains one member and the recipe has {members}; name one with --member")
    name = req.member or members[0]
    if name not in members:
        raise SweepError(f"--member {name}: not a member of the recipe's [teachers]; expected one of {members}")
    return name


def _teacher(req: SweepRequest) -> str | None:
    """The teacher run's absolute folder, checked to hold an ensemble; refuse KD keys without one."""
    kd_keys = sorted(k for k in req.space if k.startswith("distill."))
    if kd_keys and req.stage == "teachers":
        raise SweepError(f"the space varies {', '.join(kd_keys)}, which act on the student only; --stage teachers "
                         "trains a teacher: expected --stage student --teacher RUN_DIR")
    if req.teacher is None:
        if kd_keys:
            raise SweepError(f"the space varies {', '.join(kd_keys)}, which only matter when the student is distilled; "
                             "expected --teacher RUN_DIR (a run whose teachers `edgekit train` trained)")
        return None
    if req.stage != "student":
        raise SweepError(f"--teacher {req.teacher}: only for --stage student (the student is distilled from its "
                         "teachers); --stage teachers trains a teacher itself")
    run = RunDir(Path(req.teacher))
    if not run.ensemble.exists():
        raise SweepError(f"--teacher {req.teacher}: holds no trained ensemble ({run.ensemble.name} missing); expected "
                         "a run directory made by `edgekit train --teacher ensemble` on the same data")
    return str(run.root.resolve())


def _claim_out(out: Path, study_name: str, storage: str) -> None:
    """`out` holds the trials of one study: refuse a folder holding anything else."""
    marker = {"study_name": study_name, "storage": storage}
    path = out / MARKER
    if path.exists():
        theirs = json.loads(path.read_text())
        if theirs != marker:
            raise SweepError(f"--out {out}: holds the trials of study {theirs.get('study_name')!r} in "
                             f"{theirs.get('storage')}; choose another --out, or the same --study-name and "
                             "--storage to continue that study")
        return
    if out.is_dir() and any(out.iterdir()):
        raise SweepError(f"--out {out}: is not empty and holds no sweep ({MARKER}); choose a new or empty --out")
    write_json_atomic(path, marker)


def _open_study(storage: str, study_name: str, direction: str, identity: dict):
    optuna = _optuna()
    study = optuna.create_study(storage=_storage(storage), study_name=study_name, direction=direction,
                                load_if_exists=True)
    recorded = study.user_attrs.get("edgekit")
    if recorded is None:
        study.set_user_attr("edgekit", identity)
    elif recorded != json.loads(json.dumps(identity)):
        diffs = differences(recorded, identity)
        named = ", ".join(f"{d.key} ({show(d.old)} → {show(d.new)})" for d in diffs[:4])
        raise SweepError(f"study {study_name!r} in {storage} was made from another recipe, space, stage or "
                             f"teacher run: {named}"
                         f"{' ...' if len(diffs) > 4 else ''}; use a new --study-name (or --out) for a new search")
    return study


def _enqueue_baseline(study, space: dict[str, Param], raw: dict) -> None:
    own = flatten(to_plain(recipe_from_dict(raw, where="recipe")))  # defaults filled in
    if all(key in own and p.holds(own[key]) for key, p in space.items()):
        study.enqueue_trial({key: own[key] for key in space}, user_attrs={"baseline": True})


def _in_processes(job: _Job, missing: int, jobs: int) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    shares = [missing // jobs + (i < missing % jobs) for i in range(min(jobs, missing))]
    # spawned, not forked: a forked child inherits torch's thread pools in an unusable state
    with ProcessPoolExecutor(len(shares), mp_context=multiprocessing.get_context("spawn")) as pool:
        for done in [pool.submit(_optimize, job, n, i) for i, n in enumerate(shares)]:
            done.result()  # a worker's error is raised here, as it was raised there


def _optimize(job: _Job, n_trials: int, worker: int, on_progress: ProgressFn | None = None,
              on_trial: TrialFn | None = None) -> None:
    if n_trials <= 0:
        return
    optuna = _optuna()
    from edgekit.train.device import set_threads

    set_threads(job.threads)
    study = optuna.load_study(study_name=job.study_name, storage=_storage(job.storage), pruner=job.pruner)
    # seeded by worker and by what the study already holds: a resumed or parallel sweep would
    # otherwise draw the same start points again
    study.sampler = optuna.samplers.TPESampler(seed=job.seed + 1009 * worker + len(study.trials))
    callbacks = [lambda _study, trial: on_trial(_row(trial))] if on_trial is not None else []
    # a combination of values the recipe refuses (a check across keys) fails that trial, not the sweep
    study.optimize(lambda trial: _objective(trial, job, on_progress), n_trials=n_trials, catch=(RecipeError,),
                   callbacks=callbacks)


def _objective(trial, job: _Job, on_progress: ProgressFn | None) -> float:
    from edgekit.train.device import resolve_device
    from edgekit.train.prepare import prepare
    from edgekit.train.scoring import monitored_metric

    values = {key: param.suggest(trial, key) for key, param in job.space.items()}
    overrides = [override(key, value) for key, value in values.items()]
    recipe = recipe_from_dict(apply_overrides(job.raw, overrides), where=f"trial {trial.number}")
    run = RunDir(Path(job.out) / f"trial_{trial.number}")
    write_text_atomic(run.recipe, dump_recipe(recipe, header=f"trial {trial.number} of sweep study "
                                                             f"{job.study_name}: {' '.join(overrides)}"))
    data = replace(prepare(recipe, needs_folds=job.stage == "teachers"), tests={})  # never evaluated
    metric = monitored_metric(recipe.train.monitor, data.class_names)
    trial.set_user_attr("metric", metric)
    report = _Reporter(trial, metric, on_progress)
    device = resolve_device(recipe.device.device)
    if job.stage == "student":
        from edgekit.train.distill import check_teachers_held_out, train_student
        from edgekit.train.ensemble import load_ensemble

        teachers = RunDir(Path(job.teacher)) if job.teacher else None
        soft = load_ensemble(teachers, data).soft_labels(recipe.distill.soft_labels) if teachers else None
        if teachers and any(key.startswith("distill.") for key in job.space):
            check_teachers_held_out(recipe, data, teachers, "the sweep would choose its distill keys")
        student = train_student(recipe, data, run.student, ModelConfig(recipe.student.name, recipe.student.options),
                                device=device, on_progress=report, teacher_oof=soft, teacher_run=teachers)
        return float(student.report["val"][metric])
    from edgekit.train.ensemble import train_ensemble

    member = next(m for m in recipe.teachers.members if m.name == job.member)
    ensemble = train_ensemble(recipe, data, run, [member], device=device, on_progress=report)
    return float(ensemble.report["members"][member.name]["cv"][metric])


class _Reporter:
    """The training progress callback of a trial: reports each validation, stops a pruned trial."""

    def __init__(self, trial, metric: str, forward: ProgressFn | None):
        self.trial, self.key, self.forward, self.validations = trial, f"val_{metric}", forward, 0

    def __call__(self, p) -> None:
        if self.forward is not None:
            self.forward(p)
        if p.kind != "epoch" or self.key not in p.values:
            return
        value = float(p.values[self.key])
        self.trial.report(value, self.validations)
        self.validations += 1
        if self.trial.should_prune():
            raise _optuna().TrialPruned(f"pruned at validation {self.validations} ({self.key[4:]} {value:.4f})")


def _result(job: _Job, direction: str, ran: int, req: SweepRequest) -> SweepResult:
    optuna = _optuna()
    study = optuna.load_study(study_name=job.study_name, storage=_storage(job.storage))
    rows = [_row(t) for t in study.trials]
    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    metric = next((t.user_attrs["metric"] for t in study.trials if "metric" in t.user_attrs), req.recipe.train.monitor)
    best, path = None, None
    if complete:
        trial = study.best_trial
        best = _row(trial)
        path = Path(job.out) / BEST_RECIPE
        recipe = recipe_from_dict(apply_overrides(job.raw, [override(k, v) for k, v in trial.params.items()]))
        header = [f"edgekit train --recipe {path}",
                  f"best of sweep study {job.study_name} ({job.stage} stage"
                  f"{f', member {job.member}' if job.member else ''}): trial {trial.number}, "
                  f"validation {metric} = {trial.value:.4f}",
                  *([f"found by: {req.command}"] if req.command else []),
                  "swept: " + ", ".join(f"{k} = {v!r}" for k, v in trial.params.items())]
        write_text_atomic(path, dump_recipe(recipe, header="\n".join(header)))
    return SweepResult(job.study_name, job.storage, job.stage, metric, direction, ran, rows, best,
                       str(path) if path else None, {k: p.describe() for k, p in job.space.items()})


def _row(trial) -> TrialRow:
    seconds = (trial.datetime_complete - trial.datetime_start).total_seconds() \
        if trial.datetime_complete and trial.datetime_start else None
    reason = trial.system_attrs.get("fail_reason", "").strip().splitlines()
    return TrialRow(trial.number, trial.state.name, trial.value, dict(trial.params), len(trial.intermediate_values),
                    round(seconds, 1) if seconds is not None else None, bool(trial.user_attrs.get("baseline")),
                    reason[-1] if reason else "")


def _storage(url: str):
    optuna = _optuna()
    kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}  # several processes wait their turn
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # heartbeats are "experimental"
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=kwargs, heartbeat_interval=HEARTBEAT_S,
                                              grace_period=GRACE_S)
        except Exception as exc:  # sqlalchemy's errors: a malformed URL, a missing driver, an unreachable server
            raise SweepError(f"--storage {url}: cannot open it ({type(exc).__name__}: {exc}); expected an Optuna "
                             "RDB URL such as sqlite:///study.db") from None


def _threads(threads: int, jobs: int) -> int:
    """The recipe's torch threads, or with several processes and none set, a share of the CPUs."""
    return threads or (max(1, (os.cpu_count() or 1) // jobs) if jobs > 1 else 0)


def _optuna():
    try:
        import optuna
    except ImportError:
        raise SweepError("edgekit sweep needs Optuna: pip install 'edgekit[sweep]'") from None
    # the library logs through `logging` like the rest of edgekit; it never prints
    optuna.logging.disable_default_handler()
    optuna.logging.enable_propagation()
    return optuna


__all__ = ["SpaceError", "SweepError", "SweepRequest", "SweepResult", "TrialRow", "sweep"]
