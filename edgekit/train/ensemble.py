"""The teacher ensemble: every member × K subject-grouped folds, OOF logits, test logits, stacking.

For each member and fold the one training loop trains on K−1 folds, monitoring the held-out fold
(`train.monitor`: with `train.restore_best` the fold keeps its best-scoring weights, and
`train.patience` may stop it early; its `done.json` records where and why it stopped); the
held-out fold's predictions fill that member's out-of-fold (OOF) logits, so every training sequence gets a
prediction from a model that never saw its subject. Test logits are averaged over the K fold
models. A fold that finished (`done.json`) is reused, never retrained: a killed run, or a second
`edgekit train` on the same run directory, continues from the folds it lacks (as long as each
fold's recorded inputs match the command's; see `stages.py`).

With `teachers.holdout = "student_validation"` the folds leave out the student's validation split
(`data.held_out`): every fold model also predicts those sequences, and their out-of-fold guess is
the folds' average, as on a test set. Cross-validation scores and stacking use the folds' rows only.

Logits are stored as log-probabilities (log-softmax), so averaging over folds and members is a
geometric mean of probabilities, and "plain averaging" is exactly the stacker with equal weights.
A fold's predictions (its held-out fold, the test sets, new sequences) average its test-time views
the same way: `teachers.tta_shifts` and `teachers.tta` (mirror, sign flip: `tta.py`).

Stacking (fitted on OOF only; reported against plain averaging on OOF and on every test set):
- `nonneg_logloss`: non-negative weights w over members minimising the OOF log-loss of
  softmax(Σ_m w_m · log p_m) (L-BFGS-B). The weights also act as a temperature.
- `logistic`: multinomial logistic regression on the concatenated member log-probabilities.
Both are a linear map of the member log-probs (`stack_weights`), so applying the stacker to new
data (test sets, --unlabeled, a reused run) is a matrix product stored in `ensemble.json`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgekit.io import atomic_path, write_json_atomic
from edgekit.rundir import RunDir, load_model, save_model
from edgekit.train.config import ModelConfig, Recipe, stage_budget
from edgekit.train.demographics import columns_of, member_options
from edgekit.train.distill import with_pseudo_labelled
from edgekit.train.fingerprint import record_model
from edgekit.train.recipe import model_options
from edgekit.train.loop import FitOptions, ProgressFn, fit
from edgekit.train.prepare import Prepared
from edgekit.train.scoring import binary_classes, full_report, log_probs, monitored_metric, quick_scores, summary
from edgekit.train.tensors import Arrays, Scaler, SequenceTensors
from edgekit.train.tta import predict_views

DONE = "done.json"
HELD_OUT = "held_out"  # a fold's logits on `data.held_out` (`teachers.holdout`)


@dataclass
class Stacker:
    """`combined log-probs = log_softmax(concat_m(log p_m) @ weight + bias)`; `weight` is
    `(M·K, K)`. Equal-weight averaging is `weight = [I/M; ...; I/M]`, `bias = 0`."""

    method: str
    weight: np.ndarray
    bias: np.ndarray

    def __call__(self, member_logp: list[np.ndarray]) -> np.ndarray:
        z = np.concatenate([log_probs(m) for m in member_logp], axis=1) @ self.weight + self.bias
        return log_probs(z).astype(np.float32)

    def to_dict(self) -> dict:
        return {"method": self.method, "weight": self.weight.tolist(), "bias": self.bias.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "Stacker":
        return cls(d["method"], np.asarray(d["weight"], np.float64), np.asarray(d["bias"], np.float64))

    @classmethod
    def average(cls, members: int, k: int) -> "Stacker":
        return cls("average", np.tile(np.eye(k) / members, (members, 1)), np.zeros(k))


def fit_stacker(method: str, member_oof: list[np.ndarray], labels: np.ndarray, seed: int = 0) -> Stacker:
    m, k = len(member_oof), member_oof[0].shape[1]
    logp = [log_probs(o) for o in member_oof]
    if method == "logistic":
        from sklearn.linear_model import LogisticRegression

        clf = LogisticRegression(C=1.0, max_iter=2000, random_state=seed)
        clf.fit(np.concatenate(logp, axis=1), labels)
        weight, bias = np.zeros((m * k, k)), np.zeros(k)
        # classes absent from the OOF labels keep a zero column (and a very low bias)
        weight[:, clf.classes_] = clf.coef_.T if len(clf.classes_) > 2 else np.c_[-clf.coef_.T, clf.coef_.T] / 2
        bias[:] = -30.0
        bias[clf.classes_] = clf.intercept_ if len(clf.classes_) > 2 else np.r_[-clf.intercept_, clf.intercept_] / 2
        return Stacker("logistic", weight, bias)
    from scipy.optimize import minimize

    stack = np.stack(logp)  # (M, N, K)
    rows = np.arange(len(labels))

    def loss_and_grad(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = np.tensordot(w, stack, axes=1)
        lp = log_probs(z)
        p = np.exp(lp)
        loss = -lp[rows, labels].mean()
        onehot = np.zeros_like(p)
        onehot[rows, labels] = 1.0
        grad = np.einsum("mnk,nk->m", stack, p - onehot) / len(labels)
        return float(loss), grad

    res = minimize(loss_and_grad, np.full(m, 1.0 / m), jac=True, method="L-BFGS-B", bounds=[(0.0, None)] * m)
    w = res.x
    return Stacker("nonneg_logloss", np.concatenate([np.eye(k) * wi for wi in w]), np.zeros(k))


@dataclass
class EnsembleResult:
    members: list[str]
    member_oof: list[np.ndarray]  # (N, K) log-probs per member
    member_tests: list[dict[str, np.ndarray]]
    stacker: Stacker
    average_oof: np.ndarray
    stacked_oof: np.ndarray
    average_tests: dict[str, np.ndarray]
    stacked_tests: dict[str, np.ndarray]
    report: dict

    def soft_labels(self, kind: str) -> np.ndarray:
        return self.stacked_oof if kind == "stacked" else self.average_oof


def train_ensemble(recipe: Recipe, data: Prepared, run: RunDir, members: list[ModelConfig], *, device,
                   resume: bool = False, on_progress: ProgressFn | None = None,
                   fingerprint: str | None = None, extra: tuple[Arrays, np.ndarray] | None = None,
                   tag: str = "") -> EnsembleResult:
    """`extra`: pseudo-labelled sequences (arrays, ensemble log-probs) that join every fold's
    training part, never its validation part (a pseudo-label round); `tag` prefixes stage names."""
    from edgekit.models import count_macs, count_params, create_model
    from edgekit.train.losses import Objective

    k_classes = data.num_classes
    objective = Objective(recipe.train.loss, k_classes, binary_classes(data.class_names))
    score = lambda y, z: quick_scores(y, z, data.class_names)  # noqa: E731
    member_oof, member_tests, member_reports = [], [], {}
    cv = data.fold_rows()
    for mi, member in enumerate(members):
        oof = np.zeros((len(data.train), k_classes), np.float32)
        fold_tests: list[dict[str, np.ndarray]] = []
        fold_held_out, fold_reports = [], []
        for fold, (tr, va) in enumerate(data.folds):
            folder = run.member_fold(member.name, fold)
            stage = f"{tag}{member.name} fold {fold + 1}/{len(data.folds)}"
            if not (folder / DONE).exists():
                _train_fold(recipe, data, member, folder, tr, va, objective, score, device, resume, stage,
                            on_progress, seed=recipe.seed + 1000 * mi + fold, extra=extra)
            oof[va] = np.load(RunDir.logits_in(folder, "val"))
            fold_tests.append({name: np.load(RunDir.logits_in(folder, name)) for name in data.tests})
            if len(data.held_out):
                fold_held_out.append(np.load(RunDir.logits_in(folder, HELD_OUT)))
            fold_reports.append(_read_json(folder / DONE))
        if len(data.held_out):  # no fold saw them: every fold's answer, averaged as on a test set
            oof[data.held_out] = log_probs(np.mean(fold_held_out, axis=0))
        tests = {name: log_probs(np.mean([t[name] for t in fold_tests], axis=0)).astype(np.float32) for name in data.tests}
        member_oof.append(oof)
        member_tests.append(tests)
        _save_npy(RunDir.logits_in(run.teachers / member.name, "oof"), oof)
        for name, logits in tests.items():
            _save_npy(RunDir.logits_in(run.teachers / member.name, name), logits)
        model = create_model(member.name, in_chs=len(data.channels), num_classes=k_classes, **_member_options(member, data))
        member_reports[member.name] = {
            "options": member.options, "params": count_params(model),
            "macs": count_macs(model, len(data.channels), recipe.data.length),
            "cv": summary(full_report(data.train.labels[cv], oof[cv], data.class_names)),
            "folds": fold_reports,
            "test": {name: summary(full_report(data.tests[name].labels, z, data.class_names))
                     for name, z in tests.items() if _labelled(data.tests[name])},
        }
    return combine(recipe, data, run, [m.name for m in members], member_oof, member_tests, member_reports,
                   fingerprint=fingerprint)


def combine(recipe: Recipe, data: Prepared, run: RunDir, names: list[str], member_oof: list[np.ndarray],
            member_tests: list[dict[str, np.ndarray]], member_reports: dict, *,
            fingerprint: str | None = None) -> EnsembleResult:
    """Average and stack the members, write the ensemble files, report both against each other.
    `fingerprint` (of the fold stages and the stacking) is what a student distilled from this
    ensemble records as its teachers', also when another run reuses it (`--teacher RUN_DIR`)."""
    labels, k = data.train.labels, data.num_classes
    average = Stacker.average(len(names), k)
    cv = data.fold_rows()  # the held-out sequences' labels stay out of the stacking weights too
    stacker = fit_stacker(recipe.teachers.stacking, [m[cv] for m in member_oof], labels[cv], recipe.seed) \
        if len(names) > 1 else average
    avg_oof, stk_oof = average(member_oof), stacker(member_oof)
    avg_tests = {n: average([t[n] for t in member_tests]) for n in data.tests}
    stk_tests = {n: stacker([t[n] for t in member_tests]) for n in data.tests}
    _save_npy(RunDir.logits_in(run.teachers, "oof"), stk_oof)
    _save_npy(run.teachers / "oof_logits_average.npy", avg_oof)
    for name in data.tests:
        _save_npy(RunDir.logits_in(run.teachers, name), stk_tests[name])
        _save_npy(RunDir.logits_in(run.teachers, name, "_average"), avg_tests[name])

    def both(y, a, s):
        return {"average": summary(full_report(y, a, data.class_names)),
                "stacked": summary(full_report(y, s, data.class_names))}

    report = {
        "members": member_reports,
        "stacking": {"method": stacker.method, "member_weights": _member_weights(stacker, len(names), k)},
        "oof": both(labels[cv], avg_oof[cv], stk_oof[cv]),
        **({"held_out": both(labels[data.held_out], avg_oof[data.held_out], stk_oof[data.held_out])}
           if len(data.held_out) else {}),
        "test": {n: both(data.tests[n].labels, avg_tests[n], stk_tests[n]) for n in data.tests if _labelled(data.tests[n])},
        "note": "stacking is fitted on the OOF logits, so its OOF figures are optimistic; compare on test",
    }
    write_json_atomic(run.ensemble, {"members": names, "stacker": stacker.to_dict(),
                                                      "folds": len(data.folds), "fingerprint": fingerprint,
                                                      "report": report})
    return EnsembleResult(names, member_oof, member_tests, stacker, avg_oof, stk_oof, avg_tests, stk_tests, report)


def load_ensemble(teacher_run: RunDir, data: Prepared) -> EnsembleResult:
    """An existing run's ensemble (`--teacher RUN_DIR`), checked to be on the same training data."""
    from edgekit.errors import EdgekitError

    meta = teacher_run.read_json(teacher_run.ensemble)
    theirs = teacher_run.read_json(teacher_run.data)
    if theirs.get("train_ids_digest") != data.ids_digest():
        raise EdgekitError(f"--teacher {teacher_run.root}: its ensemble was trained on other training sequences "
                           f"(digest {theirs.get('train_ids_digest')} vs {data.ids_digest()}); use the same recipe "
                           "[data] section, or --teacher ensemble")
    names = meta["members"]
    member_oof = [np.load(RunDir.logits_in(teacher_run.teachers / n, "oof")) for n in names]
    member_tests = [{t: np.load(RunDir.logits_in(teacher_run.teachers / n, t)) for t in data.tests} for n in names]
    stacker = Stacker.from_dict(meta["stacker"])
    average = Stacker.average(len(names), data.num_classes)
    return EnsembleResult(names, member_oof, member_tests, stacker, average(member_oof), stacker(member_oof),
                          {t: average([m[t] for m in member_tests]) for t in data.tests},
                          {t: stacker([m[t] for m in member_tests]) for t in data.tests}, meta["report"])


def predict_ensemble(teacher_run: RunDir, arrays: Arrays, num_classes: int, *, device, batch_size: int,
                     tta_shifts: tuple[int, ...] = (), kind: str = "stacked", tta: tuple[str, ...] = (),
                     scaler: Scaler | None = None) -> np.ndarray:
    """Log-probabilities of the saved fold models on new sequences (pseudo-labels): each
    member's folds averaged, then the members combined by the stacker (or plain averaging)."""
    meta = teacher_run.read_json(teacher_run.ensemble)
    member_logp = []
    for name in meta["members"]:
        folds = []
        for fold in range(meta["folds"]):
            model = load_model(teacher_run.member_fold(name, fold))
            folds.append(predict_views(model, arrays, num_classes, batch_size, device, tta_shifts=tta_shifts, tta=tta,
                                       scaler=scaler))
        member_logp.append(log_probs(np.mean(folds, axis=0)))
    stacker = Stacker.from_dict(meta["stacker"]) if kind == "stacked" else Stacker.average(len(member_logp), num_classes)
    return stacker(member_logp)


def _train_fold(recipe, data: Prepared, member: ModelConfig, folder: Path, tr, va, objective, score, device,
                resume: bool, stage: str, on_progress, seed: int, extra=None) -> None:
    from edgekit.models import create_model

    checkpoint = RunDir.checkpoint_in(folder)
    if checkpoint.exists() and not resume:
        checkpoint.unlink()  # a fresh run: do not silently continue someone else's half-trained fold
    k = data.num_classes
    train_arrays, targets = with_pseudo_labelled(data.train.subset(tr), k, extra)
    train_t = SequenceTensors(train_arrays, k, targets=targets)
    valid_t = SequenceTensors(data.train.subset(va), k)
    import torch

    torch.manual_seed(seed)  # the initial weights
    options = _member_options(member, data)
    model = create_model(member.name, in_chs=len(data.channels), num_classes=k, **options)
    epochs, max_steps = stage_budget(recipe.train, recipe.teachers.epochs, recipe.teachers.max_steps)
    opts = FitOptions(epochs=epochs, max_steps=max_steps, seed=seed, device=device, stage=stage,
                      amp=recipe.device.amp, compile=recipe.device.compile, checkpoint=checkpoint,
                      monitor=monitored_metric(recipe.train.monitor, data.class_names), sensor_fill=data.sensor_fill)
    started = time.perf_counter()
    result = fit(model, train_t, recipe.train, objective, opts, valid=valid_t, score=score, on_progress=on_progress)
    views = {"tta_shifts": recipe.teachers.tta_shifts, "tta": recipe.teachers.tta, "scaler": data.scaler}
    bs = recipe.train.eval_batch_size
    _save_npy(RunDir.logits_in(folder, "val"),
              predict_views(result.model, data.train.subset(va), k, bs, device, recipe.device.amp, **views))
    for name, arrays in data.tests.items():
        _save_npy(RunDir.logits_in(folder, name), predict_views(result.model, arrays, k, bs, device, recipe.device.amp, **views))
    if len(data.held_out):
        _save_npy(RunDir.logits_in(folder, HELD_OUT), predict_views(result.model, data.train.subset(data.held_out), k,
                                                                    bs, device, recipe.device.amp, **views))
    save_model(folder, result.model.cpu(), member.name, {"in_chs": len(data.channels), "num_classes": k, **options})
    record_model(folder)
    kept = result.best_record  # the evaluation whose weights the fold keeps
    pseudo = {"pseudo_labelled": int(len(train_t) - len(tr))} if extra is not None else {}
    write_json_atomic(folder / DONE, {"fold": stage, "train_sequences": int(len(train_t)), **pseudo,
                                      "val_sequences": int(len(va)),
                                      "seconds": round(time.perf_counter() - started, 2),
                                      "train_samples_per_s": round(result.samples_per_s, 1),
                                      "peak_memory_gb": result.peak_memory_gb,
                                      "val": {k2[4:]: v for k2, v in kept.items() if k2.startswith("val_")},
                                      "stopping": result.stopping, "history": result.history})


def _member_options(member: ModelConfig, data: Prepared) -> dict:
    """The member's builder options, its layout taking the run's demographics when it has a layout."""
    return member_options(member.name, model_options(member.name, member.options), len(data.channels),
                          columns_of(data.scaler))


def _labelled(arrays: Arrays) -> bool:
    return bool(len(arrays) and (arrays.labels >= 0).all())



def _member_weights(stacker: Stacker, m: int, k: int) -> list[float]:
    """A per-member importance: the mean absolute weight of its block."""
    blocks = stacker.weight.reshape(m, k, -1)
    return [round(float(np.abs(b).sum() / k), 4) for b in blocks]


def _save_npy(path: Path, array: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, np.asarray(array, np.float32))


def _read_json(path: Path) -> dict:
    import json

    return json.loads(Path(path).read_text())
