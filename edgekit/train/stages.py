"""The stages one `edgekit train` command runs, and whether its run directory lets it run them.

`plan_stages` gives every stage the command trains its inputs and fingerprint (`fingerprint.py`).
`claim_run_dir` then decides, before anything is written into the run directory:
- an existing, non-empty folder that is not an edgekit run is refused (`force` trains into it);
- a stage already in the run whose inputs differ from this command's is refused, with `--resume`
  or without, in one line naming the differing keys; `force` removes it instead. That covers the
  teacher folds, the student, and teachers this command does not train (`--teacher none`) when
  they were trained on other data;
- a stage whose inputs match is kept: a finished teacher fold is reused, an unfinished one
  continues from its checkpoint under `--resume` and restarts otherwise;
- the student continues only under `--resume` from its own matching checkpoint. Otherwise it is
  trained from scratch, and everything made from the old one goes first (`student/`, `export/`,
  `metrics.json`, `confusion.png`), so no export of an older student survives beside a new one.

Pseudo-label rounds (`distill.pseudo_rounds` = R > 0, `teacher_rounds`): the teachers are trained
R + 1 times. Rounds 0 .. R-1 live in `pseudo/round<r>/teachers/` (laid out like a run's
`teachers/`), the last round in the run's own `teachers/`, so everything that reads a run's
teachers reads those the student learned from. Round 0's folds have the inputs of teachers
without rounds; round r > 0's add the round number, the unlabelled data, the pseudo-label
settings and the fingerprint of round r-1's ensemble that labelled the sequences, so a changed
round invalidates every later one and a rerun reuses each finished round.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from edgekit.errors import EdgekitError
from edgekit.rundir import RunDir
from edgekit.train.fingerprint import Difference, StageRecord, differences, fingerprint, plain, read_stage, show, write_stage
from edgekit.train.recipe import recipe_to_dict

# a stage folder holding one of these has started training (a stage.json alone was only planned)
STARTED = (RunDir.CHECKPOINT_NAME, "model.pt", "done.json")
DATA_KEYS = ("seed", "data", "features", "scaler")  # the inputs every stage shares
SHOWN_KEYS = 6
# inputs computed from the recipe's: named only when no recipe key explains the difference
# (the data files changed in place, another run's teachers were retrained)
DERIVED_KEYS = ("data.train_ids_digest", "data.test_ids_digest", "features.spec_hash", "scaler.digest",
                "teachers.fingerprint", "pseudo_labels.teachers_fingerprint")
PSEUDO_DIR = "pseudo"  # the earlier rounds' teachers of a run with pseudo-label rounds


@dataclass(frozen=True)
class Stage:
    folder: Path
    record: StageRecord


@dataclass(frozen=True)
class Plan:
    data: dict  # the DATA_KEYS inputs
    teachers: list[Stage]  # teacher folds this command trains (none for --teacher none / RUN_DIR)
    student: Stage
    teachers_fingerprint: str | None  # of the ensemble the student learns from; None: no teachers
    rounds: tuple[tuple[RunDir, str], ...] = ()  # teachers trained: (where, ensemble fingerprint) per round

    @property
    def stages(self) -> list[Stage]:
        return [*self.teachers, self.student]


def data_inputs(recipe, data) -> dict:
    """The data identity: the recipe's `[data]` and `[features]`, the seed (it draws the held-out
    subjects), which sequences were read, the feature spec and the scaler fitted on them."""
    d = recipe_to_dict(recipe)
    return plain({
        "seed": recipe.seed,
        "data": {**d.get("data", {}), "train_ids_digest": data.ids_digest(), "test_ids_digest": data.test_ids_digest()},
        "features": {**d.get("features", {}), "spec_hash": data.spec.hash() if data.spec is not None else None},
        "scaler": {"digest": fingerprint(data.scaler.to_dict())},
    })


def plan_stages(recipe, data, run: RunDir, *, train_teachers: bool, teacher_run: RunDir | None,
                unlabeled: Path | None) -> Plan:
    d = recipe_to_dict(recipe)
    shared = data_inputs(recipe, data)
    # where a stage ran does not change what it trained; bf16 autocast does
    loop = {"train": d.get("train", {}), "device": {"amp": recipe.device.amp}}
    teachers_cfg = {k: v for k, v in d.get("teachers", {}).items() if k not in ("members", "stacking")}
    if recipe.teachers.holdout == "student_validation":  # the folds then depend on the student's split
        teachers_cfg["student_valid_fraction"] = recipe.student.valid_fraction
    folds: list[Stage] = []
    rounds: list[tuple[RunDir, str]] = []
    teachers_fp = None
    if train_teachers:
        for r, where in enumerate(teacher_rounds(run, recipe.distill.pseudo_rounds)):
            pseudo = {} if r == 0 else {
                "pseudo_round": r, "unlabeled": str(unlabeled),
                "distill": {"pseudo_min_confidence": recipe.distill.pseudo_min_confidence,
                            "soft_labels": recipe.distill.soft_labels},
                "pseudo_labels": {"teachers_fingerprint": teachers_fp}}
            round_folds = []
            for i, member in enumerate(d["teachers"]["members"]):
                # the member's index is an input: it offsets the fold seeds
                inputs = plain({**shared, **loop, "teachers": {**teachers_cfg, "members": {str(i): member}}, **pseudo})
                for k in range(len(data.folds)):
                    round_folds.append(_stage(run, where.member_fold(member["name"], k), inputs))
            teachers_fp = fingerprint({"folds": [s.record.fingerprint for s in round_folds],
                                       "stacking": d["teachers"].get("stacking")})
            folds += round_folds
            rounds.append((where, teachers_fp))
    else:
        teachers_fp = ensemble_fingerprint(teacher_run) if teacher_run is not None else None
    student_inputs = plain({**shared, **loop, "student": d.get("student", {}), "distill": d.get("distill", {}),
                            "teachers": {"fingerprint": teachers_fp},
                            "unlabeled": str(unlabeled) if unlabeled is not None else None})
    return Plan(shared, folds, _stage(run, run.student, student_inputs), teachers_fp, tuple(rounds))


def teacher_rounds(run: RunDir, pseudo_rounds: int) -> list[RunDir]:
    """Where each round's teachers are trained: `pseudo/round<r>/` for the rounds before the last,
    the run itself for the last (the only round without pseudo-label rounds)."""
    return [RunDir(run.root / PSEUDO_DIR / f"round{r}") for r in range(pseudo_rounds)] + [run]


def ensemble_fingerprint(teacher_run: RunDir) -> str:
    """A reused run's ensemble: the fingerprint it recorded (older runs: of its ensemble.json)."""
    meta = teacher_run.read_json(teacher_run.ensemble)
    return meta.get("fingerprint") or fingerprint(meta)


def check_out_folder(run: RunDir, *, force: bool) -> None:
    """Refuse to write into a folder that holds something else than an edgekit run."""
    root = run.root
    if root.exists() and not root.is_dir():
        raise EdgekitError(f"--out {root}: is a file; expected a run directory (new, empty, or made by edgekit train)")
    if root.is_dir() and any(root.iterdir()) and not run.is_run() and not force:
        raise EdgekitError(f"--out {root}: is not empty and is not an edgekit run directory (no data.json written by "
                           "edgekit train); choose a new or empty --out, or add --force to train into it (files of "
                           "the same names are replaced)")


def claim_run_dir(run: RunDir, plan: Plan, *, resume: bool, force: bool) -> list[Path]:
    """What to remove from the run before this command writes into it; raises (writing nothing)
    when a stage in it was trained from other inputs and `force` is not set."""
    planned = {s.folder: s.record for s in plan.stages}
    stale: dict[Path, list[Difference] | None] = {}  # None: a stage without a record (older edgekit)
    for folder in started_stages(run):
        record, expected = read_stage(folder), planned.get(folder)
        if expected is None:  # not trained by this command: kept while it was trained on this data
            diffs = differences(_data_part(record.inputs), plan.data) if record is not None else None
        else:
            diffs = differences(record.inputs, expected.inputs) if record is not None else None
        if diffs is None or diffs:
            stale[folder] = diffs
    if stale and not force:
        raise EdgekitError(_mismatch_message(run, stale, resume))
    remove = list(stale)
    if any(folder != run.student for folder in stale):  # the ensemble files combine the removed folds
        remove += _ensemble_files(run)
    continues = resume and run.student not in stale and bool(RunDir.checkpoints_in(run.student))
    if not continues:
        remove += [run.student, *derived_from_student(run)]
    return [p for p in dict.fromkeys(remove) if p.exists()]


def derived_from_student(run: RunDir) -> list[Path]:
    return [run.export, run.metrics, run.root / "confusion.png"]


def started_stages(run: RunDir) -> list[Path]:
    rounds = sorted((run.root / PSEUDO_DIR).glob("round*/teachers/*/fold*"))
    folders = sorted(run.teachers.glob("*/fold*")) + rounds + [run.student]
    return [f for f in folders if f.is_dir() and (any((f / name).exists() for name in STARTED)
                                                  or RunDir.checkpoints_in(f))]  # α candidates: student/alpha/*


def discard(paths: list[Path]) -> None:
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()


def record_planned(plan: Plan) -> None:
    """Write each planned stage's stage.json, keeping a matching record (and its model digest)."""
    for stage in plan.stages:
        old = read_stage(stage.folder)
        if old is None or old.fingerprint != stage.record.fingerprint:
            write_stage(stage.folder, stage.record)


def _stage(run: RunDir, folder: Path, inputs: dict) -> Stage:
    return Stage(folder, StageRecord(folder.relative_to(run.root).as_posix(), inputs))


def _derived(key: str) -> bool:
    return any(key == d or key.startswith(d + ".") for d in DERIVED_KEYS)


def _data_part(inputs: dict) -> dict:
    return {k: inputs.get(k) for k in DATA_KEYS}


def _ensemble_files(run: RunDir) -> list[Path]:
    rounds = [RunDir(folder) for folder in sorted((run.root / PSEUDO_DIR).glob("round*"))]
    return [file for where in (run, *rounds)
            for file in (where.ensemble, *where.teachers.glob("*.npy"), *where.teachers.glob("*/*.npy"))]


def _mismatch_message(run: RunDir, stale: dict[Path, list[Difference] | None], resume: bool) -> str:
    keyed: dict[str, Difference] = {}
    unrecorded = []
    for folder, diffs in stale.items():
        if diffs is None:
            unrecorded.append(folder.relative_to(run.root).as_posix())
        for diff in diffs or []:
            keyed.setdefault(diff.key, diff)
    parts = []
    if keyed:
        own = sorted(k for k in keyed if not _derived(k))
        keyed = {k: keyed[k] for k in own} if own else keyed
        shown = [keyed[k] for k in sorted(keyed)][:SHOWN_KEYS]
        more = f" (and {len(keyed) - len(shown)} more keys)" if len(keyed) > len(shown) else ""
        parts.append(f"run {run.root} was trained with {', '.join(f'{d.key}={show(d.old)}' for d in shown)}, "
                     f"this command asks for {', '.join(f'{d.key}={show(d.new)}' for d in shown)}{more}")
    if unrecorded:
        listed = ", ".join(unrecorded[:3]) + (f" and {len(unrecorded) - 3} more" if len(unrecorded) > 3 else "")
        parts.append(f"run {run.root} holds {listed} with no stage.json fingerprint (trained by an older edgekit)")
    parts.append("rerun without --resume into a new --out, or with --force to retrain" if resume else
                 "train into a new --out, or rerun with --force to retrain (the differing stages and what was made "
                 "from them are removed)")
    return "; ".join(parts)
