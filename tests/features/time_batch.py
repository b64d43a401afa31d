"""Time the Polars batch pipeline on a 575 K-row, 8,151-sequence synthetic CMI frame and the
streaming reference per sample. Run: `.venv/bin/python tests/features/time_batch.py [rows]`.
Not a test (tests never assert on wall-clock time); prints one JSON line."""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from feature_synth import cmi_like_lengths, demographics_for, frame_rows, make_cmi_frame  # noqa: E402

import polars as pl  # noqa: E402

from edgekit.features.batch import compute_features  # noqa: E402
from edgekit.features.reference import StreamingFeatures  # noqa: E402
from edgekit.features.spec import FeatureSpec  # noqa: E402


def main(total_rows: int = 575_000) -> dict:
    spec = FeatureSpec.cmi_default()
    lengths = cmi_like_lengths(total_rows, n_sequences=max(1, round(8151 * total_rows / 575_000)))
    frame = make_cmi_frame(lengths, seed=0, imu_only=tuple(range(0, len(lengths), 10)), sensor_dtype=np.float32)
    demographics = demographics_for(frame)
    times, cpu = [], []
    for _ in range(3):
        start, start_cpu = time.perf_counter(), time.process_time()
        out = compute_features(frame, spec, handedness=demographics)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=0)  # forces the sort path
    start = time.perf_counter()
    compute_features(shuffled, spec, handedness=demographics)
    unsorted_s = time.perf_counter() - start
    rows = frame_rows(frame, spec.input_columns(), "SEQ_000001")
    stream = StreamingFeatures(spec)
    start = time.perf_counter()
    for _ in range(5):
        stream.reset()
        stream.push_many(rows)
    per_sample_us = (time.perf_counter() - start) / (5 * len(rows)) * 1e6
    return {"rows": frame.height, "sequences": len(lengths), "features": len(spec.names()),
            "batch_s_best": round(min(times), 3), "batch_s_all": [round(t, 3) for t in times],
            "batch_cpu_s_best": round(min(cpu), 3), "batch_s_unsorted_input": round(unsorted_s, 3),
            "load_average_1min": round(os.getloadavg()[0], 2),
            "reference_us_per_sample": round(per_sample_us, 1), "polars": pl.__version__,
            "threads": pl.thread_pool_size(), "cpus": os.cpu_count(), "output_shape": list(out.shape)}


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 575_000)))
