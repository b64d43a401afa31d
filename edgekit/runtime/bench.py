"""Latency benchmark of exported models, side by side (torch-free): `edgekit bench MODEL...`.

For every model × thread count × batch size: a fresh onnxruntime session with that many intra-op
threads, `warmup` runs, then up to `runs` timed runs (stopping early after `max_seconds`) on fixed
random inputs: window models take `(batch, length, channels)` (length = the model's training
window unless given), step models one sample per stream `(batch, channels)` plus the zero state.
Recorded per row: p50/p90/p99/mean/min/max latency, throughput (windows/s or samples/s), file size,
MACs per inference at batch 1 (counted from the graph, `macs.py`), kind, precision, provider.

Side by side: every row gets `speedup` = the baseline's p50 / its p50 at the same threads and
batch (the baseline is the first model unless named), and `macs_ratio` = the baseline's MACs / its
MACs. For the streaming question, `per_sample` compares what each model costs per new sample:
a step model runs once; a window model re-run at every sample costs one whole window.
The machine (CPU model, cores) and library versions go with the result.

A window length the machine cannot hold is refused before anything runs, naming the longest one
that fits: the inputs (largest batch × length × channels × 4 bytes) times `ACTIVATION_FACTOR` (the
graph's intermediate tensors, and numpy drawing the inputs in float64 first) must stay within
`MEMORY_FRACTION` of the memory this process may use (physical memory, or a smaller cgroup limit).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from edgekit.errors import EdgekitError
from edgekit.export import names
from edgekit.formatting import format_bytes
from edgekit.numeric import distribution
from edgekit.runtime.machine import machine_info, usable_memory_bytes
from edgekit.runtime.macs import count_graph_macs
from edgekit.runtime.metadata import KIND_STEP, read_metadata
from edgekit.runtime.session import CPU_PROVIDER, ModelSession

ResultFn = Callable[[dict], None]


@dataclass(frozen=True)
class BenchModel:
    label: str
    path: Path

    @classmethod
    def parse(cls, text: str) -> "BenchModel":
        """`PATH` (label = file name without `.onnx`) or `LABEL=PATH`."""
        label, sep, path = text.partition("=")
        if not sep:
            path, label = text, Path(text).name.removesuffix(".onnx")
        return cls(label, Path(path))


@dataclass(frozen=True)
class BenchOptions:
    threads: tuple[int, ...] = (1,)
    batches: tuple[int, ...] = (1,)
    runs: int = 200
    warmup: int = 20
    max_seconds: float = 10.0  # per row: fewer runs than `runs` when a model is slow
    length: int | None = None  # window length in samples; None: each model's training window
    baseline: str | None = None  # label of the baseline model; None: the first
    seed: int = 0


# Peak memory while a window runs, per input byte: measured 24x for mbconv_tcn_xs at length 200,000
# (101 channels: 77 MiB of inputs, 1.9 GB peak); doubled for the wider models of the zoo.
ACTIVATION_FACTOR = 48
MEMORY_FRACTION = 0.5  # of the usable memory: the rest is the OS's, onnxruntime's arena and other jobs'


def check_window_fits(meta, length: int, batches: Sequence[int], where: str) -> None:
    """Refuse a `--length` whose window inputs (and activations) cannot fit in memory, naming the limit."""
    batch = max(batches)
    per_sample = len(meta.channels) * 4 + (len(meta.inputs) > 1)  # float32 features (+ a bool mask)
    budget = int(usable_memory_bytes() * MEMORY_FRACTION)
    if batch * length * per_sample * ACTIVATION_FACTOR <= budget:
        return
    longest = budget // (batch * per_sample * ACTIVATION_FACTOR)
    raise EdgekitError(
        f"--length {length:,}: {where} at batch {batch} takes {format_bytes(batch * length * per_sample)} of inputs "
        f"({len(meta.channels)} channels × 4 bytes a sample) and about {ACTIVATION_FACTOR}× that while running, "
        f"over the {format_bytes(budget)} limit ({MEMORY_FRACTION:.0%} of this machine's memory); expected "
        f"--length ≤ {longest:,}" + (f" at --batch {batch}" if batch > 1 else ""))


def _feeds(session: ModelSession, batch: int, length: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    meta = session.metadata
    channels = len(meta.channels)
    if session.is_step_model:
        x = rng.standard_normal((batch, channels)).astype(np.float32)
        return {meta.inputs[0]: x, **dict(zip(meta.inputs[1:], session.init_state(batch)))}
    feeds = {meta.inputs[0]: rng.standard_normal((batch, length, channels)).astype(np.float32)}
    for name in meta.inputs[1:]:
        if name == names.DEMOGRAPHICS:  # a teacher that reads the subject's demographics once per window
            feeds[name] = rng.standard_normal((batch, len(session.demographics))).astype(np.float32)
        else:
            feeds[name] = np.ones((batch, length), dtype=bool)
    return feeds


def time_session(session: ModelSession, feeds: dict[str, np.ndarray], runs: int, warmup: int,
                 max_seconds: float) -> np.ndarray:
    """Nanoseconds of each timed `session.run` (after `warmup` untimed ones)."""
    ort_session = session.session
    outputs = [o.name for o in ort_session.get_outputs()]
    warm_until = time.perf_counter() + max_seconds / 2
    for _ in range(warmup):
        ort_session.run(outputs, feeds)
        if time.perf_counter() > warm_until:  # a slow model is warm after a run or two
            break
    times = []
    deadline = time.perf_counter() + max_seconds
    for _ in range(runs):
        start = time.perf_counter_ns()
        ort_session.run(outputs, feeds)
        times.append(time.perf_counter_ns() - start)
        if time.perf_counter() > deadline and len(times) >= 5:
            break
    return np.asarray(times, dtype=np.float64)


def bench_models(models: Sequence[BenchModel], options: BenchOptions = BenchOptions(), *,
                 on_result: ResultFn | None = None) -> dict:
    """Benchmark `models` side by side; returns {"machine", "options", "models", "rows", "per_sample"}."""
    if not models:
        raise EdgekitError("no models to benchmark; pass one or more exported .onnx files")
    labels = [m.label for m in models]
    if len(set(labels)) != len(labels):
        raise EdgekitError(f"model labels repeat ({labels}); name them LABEL=PATH")
    baseline = options.baseline or labels[0]
    if baseline not in labels:
        raise EdgekitError(f"--baseline {baseline!r} is not one of the models {labels}")
    for name, values in (("--threads", options.threads), ("--batch", options.batches)):
        if not values or min(values) < 1:
            raise EdgekitError(f"{name} {list(values)}: expected positive integers")
    notify = on_result or (lambda row: None)
    if options.length is not None:  # before any model runs: a refused length wastes no time
        for model in models:
            meta = read_metadata(model.path)
            if meta.kind != KIND_STEP:
                check_window_fits(meta, options.length, options.batches, str(model.path))
    described: dict[str, dict] = {}
    rows: list[dict] = []
    for model in models:
        probe = ModelSession(model.path)
        meta = probe.metadata
        length = 1 if probe.is_step_model else int(options.length or meta.window_length or 128)
        macs = count_graph_macs(model.path, _feeds(probe, 1, length, np.random.default_rng(options.seed)))
        described[model.label] = {
            "label": model.label, "path": str(model.path), "kind": meta.kind, "precision": meta.precision,
            "model": meta.model, "length": length, "size_bytes": model.path.stat().st_size, "macs": macs,
            "channels": len(meta.channels), "classes": len(meta.class_names),
            "drift": meta.drift or None}  # exported with --allow-drift: the tolerance it misses
        for threads in options.threads:
            session = ModelSession(model.path, threads=threads)
            provider = session.session.get_providers()[0] if session.session.get_providers() else CPU_PROVIDER
            for batch in options.batches:
                feeds = _feeds(session, batch, length, np.random.default_rng(options.seed))
                ns = time_session(session, feeds, options.runs, options.warmup, options.max_seconds)
                latency = distribution(ns / 1e6, digits=5)
                row = {**described[model.label], "provider": provider, "threads": threads, "batch": batch,
                       "runs": len(ns), "latency_ms": latency,
                       "throughput_per_s": round(batch / (latency["mean"] / 1e3), 1),
                       "throughput_unit": "samples/s" if probe.is_step_model else "windows/s"}
                rows.append(row)
                notify(row)
    _add_ratios(rows, described, baseline)
    return {"machine": machine_info(("numpy", "onnx", "onnxruntime")), "baseline": baseline,
            "options": {"threads": list(options.threads), "batches": list(options.batches), "runs": options.runs,
                        "warmup": options.warmup, "max_seconds": options.max_seconds, "length": options.length},
            "models": list(described.values()), "rows": rows, "per_sample": per_sample(rows)}


def _add_ratios(rows: list[dict], described: dict[str, dict], baseline: str) -> None:
    base = {(r["threads"], r["batch"]): r for r in rows if r["label"] == baseline}
    base_macs = described[baseline]["macs"]
    for row in rows:
        ref = base.get((row["threads"], row["batch"]))
        row["speedup"] = round(ref["latency_ms"]["p50"] / row["latency_ms"]["p50"], 2) if ref else None
        row["macs_ratio"] = round(base_macs / row["macs"], 2) if row["macs"] else None


def per_sample(rows: list[dict]) -> list[dict]:
    """Cost per new sample at batch 1 (threads: the smallest benchmarked): a step model's one step
    vs a window model re-run over its whole window."""
    batch_one = [r for r in rows if r["batch"] == 1]
    if not batch_one:
        return []
    threads = min(r["threads"] for r in batch_one)
    return [{"label": r["label"], "kind": r["kind"], "precision": r["precision"], "threads": threads,
             "macs_per_sample": r["macs"], "p50_ms_per_sample": r["latency_ms"]["p50"],
             "window_length": r["length"] if r["kind"] == "window" else None}
            for r in batch_one if r["threads"] == threads]


def ratio(result: dict, a: str, b: str, *, what: str = "p50", threads: int = 1, batch: int = 1) -> float | None:
    """How many times `a` costs more than `b`: p50 latency (`what="p50"`) or MACs (`what="macs"`)."""
    def find(label: str) -> dict | None:
        return next((r for r in result["rows"] if r["label"] == label and r["threads"] == threads
                     and r["batch"] == batch), None)

    ra, rb = find(a), find(b)
    if ra is None or rb is None:
        return None
    if what == "macs":
        return ra["macs"] / rb["macs"] if rb["macs"] else None
    return ra["latency_ms"][what] / rb["latency_ms"][what]
