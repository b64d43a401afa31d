"""Zero-config benchmark: `edgekit train DATA --teacher ensemble|none` + `edgekit export RUN --int8`
(both runs: the distilled student and the student alone) on UCI-HAR and two UEA sets, next to the
peers a user would otherwise pick (aeon's MiniRocket and MultiRocket-Hydra), on the same
train/test split, in one table.

    .venv/bin/python bench/zero_config.py [--out results/bench] [--datasets uci_har,basicmotions,handwriting]
        [--peers/--no-peers] [--edgekit/--no-edgekit] [--reuse] [--quick] [key=value ...]

Each edgekit run is the CLI itself (`python -m edgekit ...` in a subprocess, no recipe: the recipe is
derived from the data), so the numbers are what a user gets; key=value overrides go to the auto
recipe. The export is retried with `--allow-drift` only when it refuses, and the table says so.
Peers run with default settings and n_jobs=1, each in a child process with `--peer-timeout`.
Results merge into `zero_config.json` (a dataset's entry is replaced only by a run that measured
it, so peers and edgekit runs may be made by separate invocations) and `zero_config.md`; run
directories are under `--runs` (default `--out/zero_config_runs/<dataset>/{ensemble,alone}`).
`--reuse` reads a finished run's `metrics.json` instead of training again. `pip install -e .[bench]`
installs aeon.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("EDGEKIT_SHARED_DATA", ROOT.parent / "shared" / "data"))
QUICK = ["teachers.max_steps=8", "student.max_steps=16", "train.min_steps=0", "teachers.folds=2"]
PEERS = ("MiniRocketClassifier", "MultiRocketHydraClassifier")
INT8_TOLERANCE_PP = 0.3


def datasets(shared: Path) -> dict[str, dict]:
    """Name → train path, optional --test path, the test splits reported, published best and its source."""
    uea = shared / "uea"
    return {
        "uci_har": {"train": shared / "uci_har", "test": None, "splits": ("test", "test_exact"),
                    "published": 0.976, "published_by": "shallow CNN + statistics (Ignatov 2018)",
                    "goal": {"int8_accuracy": 0.97, "max_params": 50_000}},
        "basicmotions": {"train": uea / "BasicMotions_TRAIN.ts", "test": uea / "BasicMotions_TEST.ts",
                         "splits": ("test",), "published": 1.0, "published_by": "many (UEA default split)",
                         "goal": {"int8_accuracy": 1.0}},
        "handwriting": {"train": uea / "Handwriting_TRAIN.ts", "test": uea / "Handwriting_TEST.ts",
                        "splits": ("test",), "published": 0.642, "published_by": "InceptionTime (UEA default split)",
                        "goal": {"int8_accuracy": 0.64}},
    }


# --- edgekit: the CLI in subprocesses ------------------------------------------------------------

def _edgekit(args: list[str], log: Path) -> tuple[int, dict | None, str, float]:
    """(exit code, the --json output, stderr tail, wall seconds) of `python -m edgekit ARGS --json`."""
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "edgekit", *args, "--json"], capture_output=True, text=True,
                          cwd=ROOT)
    wall = time.perf_counter() - started
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(f"$ edgekit {' '.join(args)} --json\n[rc {proc.returncode}, {wall:.1f} s]\n{proc.stderr}")
    try:
        out = json.loads(proc.stdout) if proc.returncode == 0 else None
    except json.JSONDecodeError:
        out = None
    return proc.returncode, out, proc.stderr.strip()[-400:], wall


def train_run(spec: dict, teacher: str, run_dir: Path, overrides: list[str], reuse: bool) -> dict:
    """metrics + wall time of `edgekit train DATA [--test TEST] --teacher T --out RUN` (or the reused run)."""
    args = ["train", str(spec["train"]), *(["--test", str(spec["test"])] if spec["test"] else []),
            "--teacher", teacher, "--out", str(run_dir), *overrides]
    if reuse and (run_dir / "metrics.json").exists():
        metrics = json.loads((run_dir / "metrics.json").read_text())
        return {"command": "edgekit " + " ".join(args), "metrics": metrics, "reused": True,
                "wall_s": metrics.get("timings", {}).get("total_s")}
    shutil.rmtree(run_dir, ignore_errors=True)  # a benchmark trains from scratch
    rc, metrics, err, wall = _edgekit(args, run_dir.parent / f"{run_dir.name}.train.log")
    if metrics is None:
        raise RuntimeError(f"edgekit train --teacher {teacher} failed (rc {rc}): {err}")
    return {"command": "edgekit " + " ".join(args), "metrics": metrics, "reused": False, "wall_s": round(wall, 1)}


def export_run(run_dir: Path, reuse: bool) -> dict:
    """The INT8 export report; `--allow-drift` only when the plain export refuses."""
    report_path = run_dir / "export" / "export_report.json"
    if reuse and report_path.exists():
        return {"report": json.loads(report_path.read_text()), "allow_drift": None, "wall_s": None, "refusal": None}
    args = ["export", str(run_dir), "--int8"]
    rc, report, err, wall = _edgekit(args, run_dir.parent / f"{run_dir.name}.export.log")
    refusal = None
    if report is None:
        refusal = err
        rc, report, err, wall2 = _edgekit([*args, "--allow-drift"], run_dir.parent / f"{run_dir.name}.export-drift.log")
        wall += wall2
        if report is None:
            raise RuntimeError(f"edgekit export --int8 --allow-drift failed (rc {rc}): {err}")
    return {"report": report, "allow_drift": refusal is not None, "refusal": refusal, "wall_s": round(wall, 1)}


def edgekit_entry(name: str, spec: dict, runs: Path, overrides: list[str], reuse: bool) -> dict:
    """Ensemble, student alone, distilled student fp32/INT8 and the goals for one dataset."""
    ens = train_run(spec, "ensemble", runs / name / "ensemble", overrides, reuse)
    alone = train_run(spec, "none", runs / name / "alone", overrides, reuse)
    exp = export_run(runs / name / "ensemble", reuse)
    exp_alone = export_run(runs / name / "alone", reuse)
    m, a, r = ens["metrics"], alone["metrics"], exp["report"]
    teachers = m["teachers"]
    splits = {}
    for split in spec["splits"]:
        stacked = teachers["test"].get(split, {}).get("stacked", {})
        splits[split] = {"ensemble": stacked.get("accuracy"),
                         "ensemble_average": teachers["test"].get(split, {}).get("average", {}).get("accuracy"),
                         "alone": a["student"]["test"].get(split, {}).get("accuracy"),
                         "distilled_fp32": m["student"]["test"].get(split, {}).get("accuracy")}
    int8 = r.get("int8") or {}
    fp32_export = ((r.get("fp32") or {}).get("metrics") or {}).get("accuracy")
    splits["test"]["int8"] = int8.get(f"accuracy_int8")  # the export measures the held-out "test" split only
    splits["test"]["fp32_onnx"] = fp32_export
    splits["test"]["alone_int8"] = (exp_alone["report"].get("int8") or {}).get("accuracy_int8")
    return {
        "splits": splits, "student": m["student"]["name"], "params": m["student"]["params"],
        "macs": m["student"]["macs"], "teachers": list(teachers["members"]),
        "teacher_cv": teachers["oof"]["stacked"]["accuracy"],
        "ensemble_params": sum(t["params"] for t in teachers["members"].values()),
        "alone_params": a["student"]["params"],
        "wall_s": {"ensemble_run": ens["wall_s"], "alone_run": alone["wall_s"], "export": exp["wall_s"],
                   "export_alone": exp_alone["wall_s"]},
        "timings": {"ensemble_run": m.get("timings"), "alone_run": a.get("timings")},
        "commands": [ens["command"], alone["command"], f"edgekit export {runs / name / 'ensemble'} --int8",
                     f"edgekit export {runs / name / 'alone'} --int8"],
        "reused": ens["reused"] or alone["reused"], "allow_drift": exp["allow_drift"], "export_refusal": exp["refusal"],
        "alone_allow_drift": exp_alone["allow_drift"], "alone_export_refusal": exp_alone["refusal"],
        "int8_drop_pp": int8.get("accuracy_drop_pp"), "device": m.get("device"), "threads": m.get("threads"),
        "kd_alpha": m["student"]["loss"]["kd_alpha"], "alpha_search": m["student"].get("alpha_search"),
        "alpha_choice": m["student"].get("alpha_choice"),
        "overrides": overrides,
    }


# --- peers: aeon, default settings, n_jobs=1 -----------------------------------------------------

def load_arrays(spec: dict):
    """(X_train, y_train, {split: (X, y)}) as aeon wants them: (N, channels, length)."""
    import numpy as np

    if spec["test"] is None:  # UCI-HAR npz: (N, length, channels)
        z = np.load(next(spec["train"].glob("*.npz")))
        tests = {"test": (z["X_test"], z["y_test"]), "test_exact": (z["X_test_exact"], z["y_test"])}
        return (z["X_train"].transpose(0, 2, 1), z["y_train"],
                {s: (x.transpose(0, 2, 1), y) for s, (x, y) in tests.items()})
    from aeon.datasets import load_from_ts_file

    x_train, y_train = load_from_ts_file(str(spec["train"]))
    x_test, y_test = load_from_ts_file(str(spec["test"]))
    return x_train, y_train, {"test": (x_test, y_test)}


def _peer_child(peer: str, spec: dict, queue) -> None:
    try:
        import aeon
        from aeon.classification import convolution_based

        x_train, y_train, tests = load_arrays(spec)
        # numba compiles on the first fit of a process (minutes on a busy machine): warm up on two
        # windows per class so the timed fit measures the classifier, not the compiler
        import numpy as np

        warm = np.concatenate([np.flatnonzero(y_train == c)[:2] for c in np.unique(y_train)])
        getattr(convolution_based, peer)(n_jobs=1, random_state=0).fit(x_train[warm], y_train[warm])
        clf = getattr(convolution_based, peer)(n_jobs=1, random_state=0)
        started = time.perf_counter()
        clf.fit(x_train, y_train)
        fit_s = time.perf_counter() - started
        acc = {s: float((clf.predict(x) == y).mean()) for s, (x, y) in tests.items()}
        queue.put({"accuracy": acc, "fit_s": round(fit_s, 1), "aeon": aeon.__version__})
    except BaseException as exc:  # report, do not hang the parent
        queue.put({"error": repr(exc)})


def peer_entry(peer: str, spec: dict, timeout_s: float) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=_peer_child, args=(peer, spec, queue))
    started = time.perf_counter()
    child.start()
    child.join(timeout_s)
    if child.is_alive():
        child.terminate()
        child.join()
        return {"skipped": f"not finished within {timeout_s:.0f} s"}
    result = queue.get() if not queue.empty() else {"error": f"exit code {child.exitcode}"}
    result["wall_s"] = round(time.perf_counter() - started, 1)
    return result


# --- the table -------------------------------------------------------------------------------------

def goals(name: str, spec: dict, ek: dict | None) -> dict[str, dict]:
    """Goal → {met, detail}: met is None where it cannot be judged (a gain with both at 100 %);
    no entry when the numbers are missing."""
    if not ek:
        return {}
    t = ek["splits"]["test"]
    int8, fp32, alone = t.get("int8"), t.get("distilled_fp32"), t.get("alone")
    g = spec["goal"]
    out = {}
    for key, who, acc, params in (("int8_accuracy", "distilled", int8, ek["params"]),
                                  ("int8_accuracy_alone", "student alone", t.get("alone_int8"), ek.get("alone_params"))):
        if acc is None or params is None:
            continue
        met = acc >= g["int8_accuracy"] - 1e-9 and params <= g.get("max_params", float("inf"))
        limit = f" with ≤ {g['max_params'] // 1000} K params" if "max_params" in g else ""
        out[key] = {"met": met, "detail": f"{who} INT8 {100 * acc:.2f} % ≥ {100 * g['int8_accuracy']:.1f} %"
                                          f"{limit} ({params} params)"}
    if fp32 is not None and alone is not None:
        ceiling = alone >= 1.0 - 1e-9 and fp32 >= 1.0 - 1e-9  # nothing left to gain
        out["distillation_gain"] = {"met": None if ceiling else fp32 - alone > 0,
                                    "detail": f"gain {100 * (fp32 - alone):+.2f} pp > 0"
                                              + (" (both at 100 %: cannot be positive)" if ceiling else "")}
    for key, who, q, f in (("int8_vs_fp32", "distilled", int8, fp32),
                           ("int8_vs_fp32_alone", "student alone", t.get("alone_int8"), alone)):
        if q is not None and f is not None:
            out[key] = {"met": abs(q - f) * 100 <= INT8_TOLERANCE_PP + 1e-9,
                        "detail": f"{who} INT8 − fp32 |{100 * (q - f):+.2f}| pp ≤ {INT8_TOLERANCE_PP} pp"}
    return out


def markdown(table: dict) -> str:
    def pct(v):
        return "—" if v is None else f"{100 * v:.2f}"

    def secs(v):
        return "—" if v is None else (f"{v / 60:.1f} min" if v >= 120 else f"{v:.0f} s")

    head = ["| dataset (test split) | ensemble % | student alone % | alone INT8 % | distilled fp32 % | distilled INT8 % | "
            "gain pp | params | MACs | train wall (ens + alone) | MiniRocket % (fit) | MultiRocket-Hydra % (fit) | "
            "published best % |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    lines, notes, goal_lines = list(head), [], []
    for name, entry in table["datasets"].items():
        ek, peers = entry.get("edgekit"), entry.get("peers", {})
        for split in entry["splits"]:
            s = (ek or {}).get("splits", {}).get(split, {})
            gain = None if s.get("distilled_fp32") is None or s.get("alone") is None else s["distilled_fp32"] - s["alone"]
            wall = (ek or {}).get("wall_s", {})
            walls = [wall.get("ensemble_run"), wall.get("alone_run")]
            peer_cells = []
            for peer in PEERS:
                p = peers.get(peer)
                if not p:
                    peer_cells.append("not run")
                elif "accuracy" in p:
                    peer_cells.append(f"{pct(p['accuracy'].get(split))} ({secs(p['fit_s'])})")
                else:
                    peer_cells.append(p.get("skipped") or "error")
            label = f"{name} ({'X_' + split if name == 'uci_har' else split})"
            if ek:
                measured = (lambda key: pct(s.get(key)) if split == "test" else "n/m")
                lines.append(f"| {label} | {pct(s.get('ensemble'))} | {pct(s.get('alone'))} | {measured('alone_int8')} | "
                             f"{pct(s.get('distilled_fp32'))} | {measured('int8')} | "
                             f"{'—' if gain is None else f'{100 * gain:+.2f}'} | {ek['params']:,} | {ek['macs']:,} | "
                             f"{' + '.join(secs(w) for w in walls)} | {' | '.join(peer_cells)} | "
                             f"{pct(entry['published']) if split == 'test' else '—'} |")
            else:
                lines.append(f"| {label} | not run | not run | not run | not run | not run | — | — | — | — | "
                             f"{' | '.join(peer_cells)} | {pct(entry['published']) if split == 'test' else '—'} |")
        for goal in entry.get("goals", {}).values():
            verdict = "n/a" if goal["met"] is None else "met" if goal["met"] else "missed"
            goal_lines.append(f"- {name}: {goal['detail']}: **{verdict}**")
        if ek and ek.get("alpha_search"):
            tried = ", ".join(f"α {t['alpha']:g}: {100 * t['best_value']:.2f}" for t in ek["alpha_search"])
            notes.append(f"{name}: the distilled run chose α by its validation split ({ek['alpha_search'][0]['monitor']} "
                         f"%, teachers held out of it: {tried}) and kept α {ek['kd_alpha']:g}"
                         + _sureness(ek.get("alpha_choice"))
                         + (" (1: its labels alone, so the distilled student is the student alone)"
                            if ek["kd_alpha"] == 1 else "") + ".")
        if ek and ek.get("allow_drift"):
            notes.append(f"{name}: the INT8 export refused ({ek['export_refusal']}); kept with --allow-drift.")
        if ek and ek.get("alone_allow_drift"):
            notes.append(f"{name}: the student alone's INT8 export refused ({ek['alone_export_refusal']}); kept with "
                         "--allow-drift.")
        if ek and ek.get("reused"):
            notes.append(f"{name}: edgekit runs reused from their run directories (wall = their recorded training time).")
        if entry.get("published_by"):
            notes.append(f"{name}: published best {pct(entry['published'])} % by {entry['published_by']}.")
    meta = table["meta"]
    return "\n".join(lines + ["", "Goals:", *(goal_lines or ["- none measured"]), "", *[f"- {n}" for n in notes], "",
                              "Ensemble = the stacked teacher ensemble; INT8 is measured by `edgekit export` on the "
                              "held-out test split only (n/m: not measured on X_test_exact), for the distilled student "
                              "(`--teacher ensemble`) and the student alone (`--teacher none`, exported the same way); "
                              "params are the distilled student's (the same model); gain = distilled fp32 − "
                              "student alone. Peers: aeon defaults, n_jobs=1, random_state=0, fit time on the same "
                              "training set.",
                              f"Machine: {meta['machine']}; aeon {meta.get('aeon') or '—'}. Command: `{meta['command']}`."]) + "\n"


def _sureness(choice: dict | None) -> str:
    """How sure validation was that the best α beat the largest (runs before `alpha_choice`: nothing)."""
    if not choice or choice.get("p_better") is None:
        return ""
    return (f" (α {choice['best_alpha']:g} beat α {choice['reference_alpha']:g} in {100 * choice['p_better']:.0f} % "
            f"of validation resamples; {100 * choice['confidence']:.0f} % needed)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "bench")
    parser.add_argument("--runs", type=Path, default=None, help="run directories [default: OUT/zero_config_runs]")
    parser.add_argument("--data", type=Path, default=SHARED_DATA, help="the shared data folder (uci_har/, uea/)")
    parser.add_argument("--datasets", default="uci_har,basicmotions,handwriting")
    parser.add_argument("--peers", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--edgekit", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--peer-timeout", type=float, default=1800.0, help="seconds per peer fit + predict")
    parser.add_argument("--reuse", action="store_true", help="read finished runs instead of training again")
    parser.add_argument("--quick", action="store_true", help="tiny budgets: a smoke run, not a benchmark")
    parser.add_argument("overrides", nargs="*", help="key=value overrides for the auto recipe")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    runs = (args.runs or out / "zero_config_runs").resolve()
    overrides = [*(QUICK if args.quick else []), *args.overrides]
    specs = datasets(args.data.resolve())
    names = [n.strip() for n in args.datasets.split(",") if n.strip()]
    unknown = [n for n in names if n not in specs]
    if unknown:
        parser.error(f"unknown dataset(s) {unknown}; expected some of {list(specs)}")

    json_path = out / ("zero_config_quick.json" if args.quick else "zero_config.json")
    for name in names:
        spec = specs[name]
        measured = {"splits": list(spec["splits"]), "published": spec["published"], "published_by": spec["published_by"]}
        if args.edgekit:
            measured["edgekit"] = edgekit_entry(name, spec, runs, overrides, args.reuse)
            measured["goals"] = goals(name, spec, measured["edgekit"])
        if args.peers:
            measured["peers"] = {peer: peer_entry(peer, spec, args.peer_timeout) for peer in PEERS}
        _merge(name, measured, json_path)  # after each dataset: a long run leaves what it measured

    print(json_path.with_suffix(".md").read_text())
    return 0


def _merge(name: str, measured: dict, json_path: Path) -> None:
    """Re-read the table just before writing: another invocation (peers apart from edgekit) may have
    written other parts meanwhile."""
    table = json.loads(json_path.read_text()) if json_path.exists() else {"datasets": {}}
    table["datasets"].setdefault(name, {}).update(measured)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    _write(table, json_path)


def _write(table: dict, json_path: Path) -> None:
    import torch

    from edgekit.runtime.machine import describe_machine, machine_info

    try:
        import aeon
        aeon_version = aeon.__version__
    except ImportError:
        aeon_version = None
    table["meta"] = {"machine": describe_machine(machine_info(("torch",))), "torch": torch.__version__,
                     "aeon": aeon_version, "command": "python bench/zero_config.py " + " ".join(sys.argv[1:])}
    json_path.write_text(json.dumps(table, indent=2) + "\n")
    json_path.with_suffix(".md").write_text(markdown(table))


if __name__ == "__main__":
    sys.exit(main())
