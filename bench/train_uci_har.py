"""UCI-HAR training results: teachers, ensemble (average vs stacked), student alone vs distilled.

    .venv/bin/python bench/train_uci_har.py [--out results/bench] [--data ../shared/data/uci_har] [key=value ...]

Runs `recipes/uci_har/teacher_ensemble.toml` twice through the library (the same code path as
`edgekit train`): `--teacher ensemble` (teachers over subject-grouped folds, stacking, distilled
student) and `--teacher none` (the same student, seed and loss without KD), the second in a
parallel process. Writes `train_uci_har.json` and `train_uci_har.md` into `--out`, with the run
directories under `--out/uci_har/`. Test = the official X_test; X_test_exact is reported too.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipes" / "uci_har" / "teacher_ensemble.toml"  # names no data: data.source= is passed
SHARED_DATA = Path(os.environ.get("EDGEKIT_SHARED_DATA", ROOT.parent / "shared" / "data"))
GOAL = {"student_accuracy": 0.97, "student_params": 50_000, "fraction_of_ensemble": 0.99}


def _run(teacher: str, out: Path, overrides: list[str]) -> dict:
    from edgekit.train.recipe import load_recipe
    from edgekit.train.run import TrainRequest, train

    recipe = load_recipe(RECIPE, overrides)
    command = f"edgekit train --recipe {RECIPE.relative_to(ROOT)} --teacher {teacher} --out {out} {' '.join(overrides)}"
    return train(TrainRequest(recipe, teacher=teacher, out=out, command=command.strip()))


def _child(teacher: str, out: str, overrides: list[str], queue) -> None:
    try:
        queue.put(("ok", _run(teacher, Path(out), overrides)))
    except BaseException as exc:  # report, do not hang the parent
        queue.put(("error", repr(exc)))


def rows_from(ensemble: dict, alone: dict) -> list[dict]:
    rows = []
    splits = ("test", "test_exact")
    teachers = ensemble["teachers"]
    for name, m in teachers["members"].items():
        rows.append({"model": name, "kind": "teacher", "params": m["params"], "macs": m["macs"],
                     "cv_accuracy": m["cv"]["accuracy"], **_split_cols(m["test"], splits)})
    for kind in ("average", "stacked"):
        rows.append({"model": f"ensemble ({kind})", "kind": "ensemble", "params": sum(m["params"] for m in teachers["members"].values()),
                     "macs": sum(m["macs"] * len(m["folds"]) for m in teachers["members"].values()),
                     "cv_accuracy": teachers["oof"][kind]["accuracy"],
                     **_split_cols({s: teachers["test"][s][kind] for s in splits if s in teachers["test"]}, splits)})
    for label, result in (("student alone", alone), ("student distilled", ensemble)):
        s = result["student"]
        rows.append({"model": f"{s['name']} ({label.split()[1]})", "kind": "student", "params": s["params"],
                     "macs": s["macs"], "cv_accuracy": None, **_split_cols(s["test"], splits)})
    return rows


def _split_cols(tests: dict, splits) -> dict:
    out = {}
    for split in splits:
        scores = tests.get(split, {})
        out[f"{split}_accuracy"] = scores.get("accuracy")
        out[f"{split}_macro_f1"] = scores.get("macro_f1")
    return out


def markdown(rows: list[dict], meta: dict) -> str:
    from edgekit.formatting import format_count as count, format_percent

    def pct(v):
        return format_percent(v, 2)

    lines = ["| model | params | MACs / window | CV acc % | X_test acc % | X_test macro-F1 % | X_test_exact acc % | X_test_exact macro-F1 % |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['model']} | {count(r['params'])} | {count(r['macs'])} | {pct(r['cv_accuracy'])} | "
                     f"{pct(r['test_accuracy'])} | {pct(r['test_macro_f1'])} | {pct(r['test_exact_accuracy'])} | "
                     f"{pct(r['test_exact_macro_f1'])} |")
    g = meta["goals"]
    lines += ["", f"Distilled student: {100 * g['student_accuracy']:.2f} % accuracy "
                  f"({'meets' if g['student_accuracy'] >= GOAL['student_accuracy'] else 'misses'} the 97 % goal), "
                  f"{g['student_params']} params, {100 * g['fraction_of_ensemble']:.1f} % of the stacked ensemble's accuracy; "
                  f"distillation gain {100 * g['distillation_gain']:+.2f} points over the student alone.",
              "", f"Run: {meta['command']} — {meta['wall_s'] / 60:.1f} min on {meta['machine']} "
                  f"(torch {meta['torch']}, {meta['threads']} thread(s) per run, device {meta['device']}).",
              "Ensemble MACs count every fold model of every member (what averaging them at inference costs)."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "bench")
    parser.add_argument("--data", type=Path, default=SHARED_DATA / "uci_har", help="the UCI-HAR folder or .npz")
    parser.add_argument("overrides", nargs="*", help="recipe key=value overrides for both runs")
    args = parser.parse_args(argv)
    args.overrides = [f"data.source={args.data.resolve()}", *args.overrides]
    out = args.out.resolve()
    # a benchmark trains from scratch: a previous run would be reused (or refused, if its recipe
    # differs), and neither measures anything
    shutil.rmtree(out / "uci_har", ignore_errors=True)
    started = time.perf_counter()
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=_child, args=("none", str(out / "uci_har" / "student_alone"), args.overrides, queue))
    child.start()
    ensemble = _run("ensemble", out / "uci_har" / "ensemble", args.overrides)
    status, alone = queue.get()
    child.join()
    if status != "ok":
        print(f"student-alone run failed: {alone}", file=sys.stderr)
        return 1
    import torch

    from edgekit.runtime.machine import describe_machine, machine_info

    rows = rows_from(ensemble, alone)
    stacked = next(r for r in rows if r["model"] == "ensemble (stacked)")
    distilled = rows[-1]
    meta = {
        "command": "python bench/train_uci_har.py " + " ".join(args.overrides),
        "wall_s": round(time.perf_counter() - started, 1), "machine": describe_machine(machine_info(("torch",))),
        "torch": torch.__version__, "threads": ensemble.get("threads", "recipe"), "device": ensemble["device"],
        "timings": {"ensemble_run": ensemble["timings"], "student_alone_run": alone["timings"]},
        "goals": {"student_accuracy": distilled["test_accuracy"], "student_params": distilled["params"],
                  "fraction_of_ensemble": distilled["test_accuracy"] / stacked["test_accuracy"],
                  "distillation_gain": distilled["test_accuracy"] - rows[-2]["test_accuracy"]},
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "train_uci_har.json").write_text(json.dumps({"rows": rows, "meta": meta}, indent=2) + "\n")
    (out / "train_uci_har.md").write_text(markdown(rows, meta))
    print(markdown(rows, meta))
    return 0


if __name__ == "__main__":
    sys.exit(main())
