"""`edgekit demo`: the whole spine on the simulator, on CPU, in minutes.

Steps run in order and each returns a report; `on_step(name, report)` lets the caller show
progress (the library itself never prints). Later stages of the spine (train, export, bench,
stream) join this list as they land.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from edgekit.io import write_json_atomic

StepCallback = Callable[[str, dict], None]


def run_demo(out_dir: Path, *, n_sequences: int = 400, seed: int = 0, on_step: StepCallback | None = None) -> dict:
    from edgekit.data.inspect import inspect_dataset
    from edgekit.data.load import load_dataset
    from edgekit.pipeline import features_to, simulate_to

    out_dir = Path(out_dir)
    notify = on_step or (lambda name, report: None)
    reports: dict[str, dict] = {}
    started = time.perf_counter()

    def step(name: str, fn: Callable[[], dict]) -> dict:
        t0 = time.perf_counter()
        report = fn()
        report["step_s"] = round(time.perf_counter() - t0, 3)
        reports[name] = report
        notify(name, report)
        return report

    train_path = out_dir / "data" / "train.parquet"
    step("simulate", lambda: simulate_to(train_path, n_sequences=n_sequences, seed=seed))
    step("inspect", lambda: inspect_dataset(load_dataset(train_path)))
    step("features", lambda: features_to(train_path, out_dir / "features" / "features.parquet"))

    summary = {
        "out_dir": str(out_dir),
        "total_s": round(time.perf_counter() - started, 3),
        "steps": {name: r["step_s"] for name, r in reports.items()},
        "sequences": reports["simulate"]["sequences"],
        "rows": reports["simulate"]["rows"],
        "features": reports["features"]["features"],
        "feature_spec_hash": reports["features"]["spec_hash"],
    }
    write_json_atomic(out_dir / "summary.json", {"summary": summary, "reports": reports})
    return summary
