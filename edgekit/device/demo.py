"""The device step of `edgekit demo`: the demo's INT8 step student compiled to C, the demo stream
(raw samples of the held-out sequences) pushed through the bridge and the model under QEMU, its
class at every sample against `edgekit stream` on the host, and the device table."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgekit.bridge.toolchain import install_hint, which
from edgekit.device import qemu
from edgekit.device.bench import device_bench
from edgekit.device.check import stream_classes
from edgekit.device.report import device_markdown
from edgekit.device.vectors import PIPELINE, write_vectors
from edgekit.io import write_text_atomic

TOOLS = ("cmake", "arm-none-eabi-gcc", "qemu-system-arm")


def missing_tools() -> list[str]:
    return [t for t in TOOLS if which(t) is None]


def _stream_samples(model: Path, source: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(samples, resets, left-handed) of a stream file, read as `edgekit stream` reads it."""
    from edgekit.runtime.sources import Sample, read_samples
    from edgekit.runtime.stream import Streamer

    streamer = Streamer(model)
    rows, resets, left, last = [], [], [], None
    for event in read_samples(source, streamer.input_columns, streamer.sample_period_s):
        if not isinstance(event, Sample):
            continue
        key = (event.sequence, event.segment)
        rows.append(event.values)
        resets.append(key != last)
        left.append(event.handedness == 0)
        last = key
    return np.array(rows, np.float32), np.array(resets, bool), np.array(left, bool)


def device_step(model: str | Path, stream_source: str | Path, out: str | Path, max_samples: int = 2000) -> dict:
    """QEMU agreement with the host stream on `stream_source` and the device bench of `model`."""
    missing = missing_tools()
    if missing:
        return {"skipped": "needs " + ", ".join(f"{t} ({install_hint(t)})" for t in missing)}
    model, out = Path(model), Path(out)
    bench = device_bench(model, out / "bench", host_runs=50)
    samples, resets, left = _stream_samples(model, Path(stream_source))
    ends = np.flatnonzero(resets)  # whole sequences only, up to max_samples
    cut = int(ends[ends <= max_samples].max()) if len(ends) > 1 and ends[-1] > max_samples else len(samples)
    samples, resets, left = samples[:cut], resets[:cut], left[:cut]
    classes = stream_classes(model, samples, resets, int(bench["hop"]), left)
    vectors = write_vectors(out / "stream_vectors.bin", PIPELINE, samples, resets=resets, classes=classes,
                            left_handed=left)
    run = qemu.run_check(Path(bench["package"]), out / "bench" / "build-cortex-m4", "cortex-m4", vectors)
    compared = int(run.values.get("compared", 0))
    agreement = {"samples": compared, "same_class": compared - int(run.values.get("mismatches", compared)),
                 "sequences": int(resets.sum()), "reference": "edgekit stream on the host (onnxruntime, C bridge)"}
    table = device_markdown(bench)
    write_text_atomic(out / "device.md", table)
    return {"agreement": agreement, "bench": bench, "table": str(out / "device.md"), "status": run.status}
