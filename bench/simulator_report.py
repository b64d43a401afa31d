"""The simulator at the competition's size: how fast it is, how faulty, and how learnable.

    .venv/bin/python bench/simulator_report.py          # ~1 min on 2 cores

Simulates 8,151 sequences (the real train set's count), times it, measures the fault rates, and
trains two simple per-sequence baselines (mean/std of acc, rot and thm per sequence) on
subject-held-out splits (30 % of subjects for test): logistic regression and scikit-learn's
HistGradientBoosting, reporting 18-class accuracy, target-vs-non-target accuracy and the
competition score. A simple baseline well above chance and well below perfect is what "learnable
but not trivial" means here. Writes `results/bench/simulator.{json,md}` for `bench/make_tables.py`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgekit.data import cmi_schema as cs  # noqa: E402
from edgekit.data.simulator import simulate  # noqa: E402
from edgekit.io import write_json_atomic, write_text_atomic  # noqa: E402
from edgekit.metrics import cmi_score  # noqa: E402

OUT = ROOT / "results" / "bench"
SEQUENCES, SEED = 8151, 0


def per_sequence_stats(train: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    channels = list(cs.ACC_COLUMNS + cs.ROT_COLUMNS + cs.THM_COLUMNS)
    stats = (train.group_by("sequence_id", maintain_order=True)
             .agg([pl.col(c).mean().alias(f"{c}_mean") for c in channels]
                  + [pl.col(c).std().alias(f"{c}_std") for c in channels]
                  + [pl.first("gesture"), pl.first("subject")]))
    x = stats.select(pl.exclude("sequence_id", "gesture", "subject")).fill_null(0.0).fill_nan(0.0).to_numpy()
    y = stats["gesture"].replace_strict({g: i for i, g in enumerate(cs.GESTURES)}, return_dtype=pl.Int64).to_numpy()
    return x, y, stats["subject"].to_numpy()


def main() -> dict:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupShuffleSplit
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    start = time.perf_counter()
    data = simulate(SEQUENCES, seed=SEED)
    simulate_s = time.perf_counter() - start
    train = data.train
    sensors = train.filter(pl.col("thm_1").is_not_null() | pl.col("thm_2").is_not_null())
    tof = sensors.select(cs.TOF_COLUMNS).to_numpy()
    faults = {
        "rot_null_rows": train["rot_w"].null_count() / train.height,
        "imu_only_sequences": 1 - sensors["sequence_id"].n_unique() / train["sequence_id"].n_unique(),
        "thm_5_null_where_sensors": sensors["thm_5"].null_count() / max(1, sensors.height),
        "tof_no_return": float((tof == cs.TOF_NO_RETURN).mean()),
    }
    x, y, subjects = per_sequence_stats(train)
    test_mask = np.zeros(len(y), bool)
    test_mask[next(GroupShuffleSplit(n_splits=1, test_size=0.3, random_state=SEED).split(x, y, subjects))[1]] = True
    target = np.isin(y, range(len(cs.TARGET_GESTURES)))
    baselines = {}
    for name, model in (("logistic regression", make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))),
                        ("HistGradientBoosting", HistGradientBoostingClassifier(random_state=SEED))):
        model.fit(x[~test_mask], y[~test_mask])
        pred = model.predict(x[test_mask])
        baselines[name] = {
            "accuracy_18": float((pred == y[test_mask]).mean()),
            "target_vs_non_target": float((np.isin(pred, range(len(cs.TARGET_GESTURES))) == target[test_mask]).mean()),
            "cmi_score": cmi_score(y[test_mask], pred, cs.GESTURES)["score"],
        }
    report = {"sequences": SEQUENCES, "rows": train.height, "subjects": data.demographics.height,
              "mean_length": train.height / SEQUENCES, "simulate_s": round(simulate_s, 2), "faults": faults,
              "baselines": baselines, "test_sequences": int(test_mask.sum())}
    write_json_atomic(OUT / "simulator.json", report)
    lines = [f"`simulate({SEQUENCES}, seed={SEED})`: {train.height:,} rows, {data.demographics.height} subjects, "
             f"mean length {report['mean_length']:.1f}, **{simulate_s:.1f} s** on this machine. Faults: "
             f"{100 * faults['rot_null_rows']:.2f} % null quaternion rows, {100 * faults['imu_only_sequences']:.0f} % "
             f"IMU-only sequences, {100 * faults['thm_5_null_where_sensors']:.1f} % null thm_5, "
             f"{100 * faults['tof_no_return']:.0f} % ToF no-return pixels.", "",
             "| baseline (per-sequence mean/std of acc, rot, thm; 30 % of subjects held out) | 18-class acc % | "
             "target vs non-target % | CMI score |", "|---|---:|---:|---:|"]
    for name, b in baselines.items():
        lines.append(f"| {name} | {100 * b['accuracy_18']:.1f} | {100 * b['target_vs_non_target']:.1f} | "
                     f"{b['cmi_score']:.3f} |")
    write_text_atomic(OUT / "simulator.md", "\n".join(lines) + "\n")
    return report


if __name__ == "__main__":
    main()
    print((OUT / "simulator.md").read_text())
