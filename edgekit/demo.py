"""`edgekit demo`: the whole spine on the simulator, on CPU, in minutes.

simulate → inspect → features → teacher ensemble + distilled causal student (`edgekit.train`) →
fp32 / INT8 window and step models + the teacher ensemble as ONNX (`edgekit.export`) → bench →
stream, then one summary table (scores, sizes, MACs, latencies) and the plots in `out_dir`.

Orchestration only: every step is a library call returning a report; `on_step(name, report)`
lets the caller show progress (the library never prints). The recipe is
`recipes/sim/quickstart.toml` with the demo's simulated file as its data and the causal student
(`mbconv_tcn_causal_xs`, so a step model exists); `overrides` are further `key=value` recipe
overrides (the demo test shrinks epochs and folds with them).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Sequence

from edgekit.formatting import (format_bytes, format_count, format_number, format_percent, format_ratio,
                                 markdown_table)
from edgekit.io import write_json_atomic, write_text_atomic
from edgekit.resources import recipes_dir
from edgekit.rundir import RunDir

StepCallback = Callable[[str, dict], None]
QUICKSTART = ("sim", "quickstart.toml")  # a recipe shipped in the package (edgekit.resources)
STUDENT = "mbconv_tcn_causal_xs"
SEQUENCES_PER_SUBJECT = 24  # enough people for subject-grouped folds and a held-out fifth
BENCH_LENGTH = 128  # the reference window: a step vs re-running a 128-sample window
STREAM_SEQUENCES = 24


def run_demo(out_dir: Path, *, n_sequences: int = 480, seed: int = 0, overrides: Sequence[str] = (),
             bench_runs: int = 200, on_step: StepCallback | None = None) -> dict:
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
    run_dir, export_dir = out_dir / "run", out_dir / "run" / "export"
    step("simulate", lambda: _simulate(train_path, n_sequences, seed))
    step("inspect", lambda: _inspect(train_path))
    step("features", lambda: _features(train_path, out_dir / "features" / "features.parquet"))
    step("train", lambda: _train(train_path, run_dir, seed, overrides))
    step("export", lambda: _export(run_dir, export_dir))
    models = _model_files(export_dir)
    step("bench", lambda: _bench(models, out_dir / "bench", bench_runs))
    step("stream", lambda: _stream(models, train_path, out_dir / "stream"))
    step("device", lambda: _device(models, out_dir / "stream" / "stream.parquet", out_dir / "device"))

    summary = {
        "out_dir": str(out_dir),
        "total_s": round(time.perf_counter() - started, 3),
        "steps": {name: r["step_s"] for name, r in reports.items()},
        "sequences": reports["simulate"]["sequences"],
        "features": reports["features"]["features"],
        "feature_spec_hash": reports["features"]["spec_hash"],
        "table": summary_rows(reports),
        "goals": reports["bench"]["goals"],
        "stream": {k: {"mode": v["mode"], "latency_us": v["latency_us"], "agreement": v.get("agreement")}
                   for k, v in reports["stream"]["summaries"].items()},
        "plots": sorted(str(p) for p in out_dir.rglob("*.png")),
        "export": {k: v for k, v in reports["export"].items() if k in ("qat_because", "drift_because")},
        "device": {k: v for k, v in reports["device"].items() if k in ("agreement", "table", "skipped")}
                  | ({"goals": reports["device"]["bench"]["goals"]} if "bench" in reports["device"] else {}),
    }
    write_json_atomic(out_dir / "summary.json", {"summary": summary, "reports": reports})
    write_text_atomic(out_dir / "summary.md", summary_markdown(summary))
    return summary


# --- the steps: each a library call ---------------------------------------------------------------
def _simulate(path: Path, n_sequences: int, seed: int) -> dict:
    from edgekit.data.simulator import SimConfig
    from edgekit.pipeline import simulate_to

    subjects = max(5, n_sequences // SEQUENCES_PER_SUBJECT)
    return simulate_to(path, n_sequences=n_sequences, seed=seed, config=SimConfig(n_subjects=subjects))


def _inspect(path: Path) -> dict:
    from edgekit.data.inspect import inspect_dataset
    from edgekit.data.load import load_dataset

    return inspect_dataset(load_dataset(path))


def _features(path: Path, out: Path) -> dict:
    from edgekit.pipeline import features_to

    return features_to(path, out, spec_name="cmi_default")


def _train(train_path: Path, run_dir: Path, seed: int, overrides: Sequence[str]) -> dict:
    from edgekit.train.recipe import load_recipe
    from edgekit.train.run import TrainRequest, train

    recipe = load_recipe(recipes_dir().joinpath(*QUICKSTART),
                         [f"data.source={train_path}", f"seed={seed}", f"student.name={STUDENT}", *overrides])
    # the demo owns its run folder: a rerun with other settings retrains what changed (force), but a
    # folder there that is not an edgekit run is still refused by train()
    return train(TrainRequest(recipe, teacher="ensemble", out=run_dir, command="edgekit demo",
                              force=RunDir(run_dir).is_run()))


def _export(run_dir: Path, export_dir: Path) -> dict:
    from edgekit.export.drift import ToleranceError
    from edgekit.export.run import export_run
    from edgekit.export.teachers import export_teacher_ensemble

    try:
        report = export_run(run_dir, target="cpu-int8", out_dir=export_dir, max_validation=128)
    except ToleranceError as err:
        # what the error advises a user: fine-tune with fake quantization (the demo's short training
        # leaves low-margin decisions that post-training calibration may flip)
        try:
            report = export_run(run_dir, target="cpu-int8", out_dir=export_dir, max_validation=128, qat=True)
        except ToleranceError as qat_err:
            # still outside it (seen on an AVX512-VNNI Xeon: 2 of 96 windows flipped, with and without
            # QAT, where the AMD EPYC machines passed): keep the file marked as drifting, as
            # `--allow-drift` does, so the demo shows the rest of the spine and says why
            report = export_run(run_dir, target="cpu-int8", out_dir=export_dir, max_validation=128, qat=True,
                                allow_drift=True)
            report["drift_because"] = str(qat_err)
        report["qat_because"] = str(err)
    report["teachers"] = export_teacher_ensemble(run_dir, export_dir / "teachers.fp32.onnx")
    return report


def _model_files(export_dir: Path) -> dict[str, Path]:
    names = {"teacher ensemble fp32": "teachers.fp32.onnx", "student fp32": "student.fp32.onnx",
             "student INT8": "student.int8.onnx", "student step fp32": "student.step.fp32.onnx",
             "student step INT8": "student.step.int8.onnx"}
    return {label: export_dir / name for label, name in names.items() if (export_dir / name).exists()}


def _bench(models: dict[str, Path], out: Path, runs: int) -> dict:
    from edgekit.runtime.bench import BenchModel, BenchOptions, bench_models, ratio
    from edgekit.runtime.report import bench_markdown, bench_plot

    result = bench_models([BenchModel(label, path) for label, path in models.items()],
                          BenchOptions(threads=(1,), batches=(1, 64), runs=runs, warmup=max(2, runs // 10),
                                       length=BENCH_LENGTH))
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / "bench.json", result)
    write_text_atomic(out / "bench.md", bench_markdown(result))
    bench_plot(result, out / "latency.png")
    result["goals"] = {
        "int8_vs_teachers_speedup_b1_t1": _round(ratio(result, "teacher ensemble fp32", "student INT8")),
        "window128_vs_step_macs_ratio": _round(ratio(result, "student fp32", "student step fp32", what="macs")),
    }
    return result


def _stream(models: dict[str, Path], train_path: Path, out: Path) -> dict:
    """Stream held sequences of the simulated table in both modes; agreement with offline windows."""
    import numpy as np
    import polars as pl

    from edgekit.features import FeatureSpec, compute_features
    from edgekit.runtime.report import stream_plot
    from edgekit.runtime.session import ModelSession
    from edgekit.runtime.sources import read_samples
    from edgekit.runtime.stream import StreamOptions, Streamer

    table = pl.read_parquet(train_path)
    demographics = pl.read_csv(train_path.with_name(f"{train_path.stem}_demographics.csv"))
    ids = table.get_column("sequence_id").unique(maintain_order=True)[-STREAM_SEQUENCES:]
    table = table.filter(pl.col("sequence_id").is_in(ids.implode())).join(
        demographics.select("subject", "handedness"), on="subject", how="left")
    out.mkdir(parents=True, exist_ok=True)
    source = out / "stream.parquet"
    table.write_parquet(source)
    window = ModelSession(models["student fp32"])
    spec = FeatureSpec.from_json(window.metadata.feature_spec_json)
    offline = {k[0]: g.select(spec.names()).to_numpy().astype(np.float32) for k, g in compute_features(
        table.drop("handedness"), spec, handedness=demographics).group_by("sequence_id", maintain_order=True)}
    summaries = {}
    for label in ("student INT8", "student fp32", "student step fp32", "student step INT8"):
        if label not in models:
            continue
        streamer = Streamer(models[label], StreamOptions(hop=16, smoothing=None))
        finals = {}
        summary = streamer.run(read_samples(source, streamer.input_columns, streamer.sample_period_s),
                               on_prediction=lambda p: finals.__setitem__(p.sequence, p) if p.final else None)
        agree, worst = 0, 0.0
        reference = window if label.endswith("fp32") else ModelSession(models[label.replace("step ", "")])
        for sid, x in offline.items():
            want = reference.run((x if streamer.step_mode else x[-streamer.window:])[None])[0]
            agree += int(np.argmax(want) == finals[sid].class_index)
            worst = max(worst, float(np.abs(want - finals[sid].logits).max()))
        summaries[label] = {**summary.to_dict(), "agreement": {
            "sequences": len(offline), "same_class": agree, "max_abs_logit_diff": worst,
            "reference": "offline window model on the same window" if not streamer.step_mode
            else "offline window model over the whole sequence (causal forward)"}}
        summaries[label].pop("finals")
    stream_plot(summaries, out / "latency_per_sample.png")
    return {"source": str(source), "sequences": len(offline), "summaries": summaries}


def _device(models: dict[str, Path], stream_source: Path, out: Path) -> dict:
    """The INT8 step student on the emulated Cortex-M4F (`edgekit.device`); skipped, saying what to
    install, without the ARM toolchain and QEMU."""
    from edgekit.device.demo import device_step

    if "student step INT8" not in models:
        return {"skipped": "no INT8 step model"}
    return device_step(models["student step INT8"], stream_source, out)


# --- the summary --------------------------------------------------------------------------------
def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def summary_rows(reports: dict[str, dict]) -> list[dict]:
    """One row per model: test scores, size, MACs, bench p50 (batch 1, 1 thread), stream p50/p99."""
    train, export, bench = reports["train"], reports["export"], reports["bench"]
    stream = reports["stream"]["summaries"]
    teachers = train.get("teachers") or {}
    test_teacher = teachers.get("test", {}).get("test", {}).get("stacked", {})
    student_test = train["student"]["test"].get("test", {})
    latency = {r["label"]: r for r in bench["rows"] if r["batch"] == 1 and r["threads"] == 1}
    scores = {
        "teacher ensemble fp32": test_teacher,
        "student fp32": student_test or (export.get("fp32") or {}).get("metrics") or {},  # torch = fp32 ONNX (parity)
        "student INT8": (export.get("int8") or {}).get("metrics") or {},
    }
    rows = []
    for label, r in latency.items():
        s = scores.get(label, {})
        st = stream.get(label, {})
        rows.append({
            "model": label, "kind": r["kind"], "accuracy": s.get("accuracy"), "macro_f1": s.get("macro_f1"),
            "cmi_score": s.get("cmi_score"), "size_bytes": r["size_bytes"], "macs": r["macs"],
            "p50_ms": r["latency_ms"]["p50"], "p99_ms": r["latency_ms"]["p99"], "speedup": r["speedup"],
            "stream_p50_us": (st.get("latency_us") or {}).get("p50"),
            "stream_p99_us": (st.get("latency_us") or {}).get("p99")})
    return rows


SUMMARY_COLUMNS = ("model", "kind", "test acc %", "test macro-F1 %", "CMI score", "size", "MACs",
                   "p50 ms (b1, 1 thr)", "speedup vs teachers", "stream p50 / p99 µs per sample")


def summary_cells(row: dict) -> list[str]:
    """One `summary_rows` row as the text of its `SUMMARY_COLUMNS` cells (markdown and the CLI table)."""
    stream = f"{row['stream_p50_us']:.0f} / {row['stream_p99_us']:.0f}" if row.get("stream_p50_us") else ""
    return [row["model"], row.get("kind", ""), format_percent(row.get("accuracy")), format_percent(row.get("macro_f1")),
            format_number(row.get("cmi_score")), format_bytes(row["size_bytes"]), format_count(row["macs"]),
            format_number(row["p50_ms"]), format_ratio(row["speedup"]), stream]


def summary_notes(summary: dict) -> str:
    """The goals and the time each step took, below the table."""
    g = summary["goals"]
    return (f"INT8 student vs this demo's small teacher ensemble, batch 1, one thread: "
            f"{format_ratio(g['int8_vs_teachers_speedup_b1_t1'])} faster (the >= 100x goal is measured against the "
            "full-size ensemble by `make bench`); step model vs re-running a 128-sample window: "
            f"{format_ratio(g['window128_vs_step_macs_ratio'])} fewer MACs per sample (goal >= 30x).\n"
            + _qat_note(summary.get("export", {})) + _device_note(summary.get("device", {})) +
            f"Total {summary['total_s'] / 60:.1f} min: "
            + ", ".join(f"{k} {v:.0f} s" for k, v in summary["steps"].items()) + "\n")


def _qat_note(export: dict) -> str:
    if "qat_because" not in export:
        return ""
    note = ("INT8 by post-training calibration missed its tolerance, so the student was fine-tuned with fake "
            f"quantization (--qat) as the error advises: {export['qat_because']}\n")
    if "drift_because" in export:
        note += ("It still missed it, so the INT8 file is kept marked as drifting (what --allow-drift does): "
                 f"{export['drift_because']}\n")
    return note


def _device_note(device: dict) -> str:
    if "agreement" in device:
        a, goals = device["agreement"], device.get("goals", {})
        met = ", ".join(f"{k} {'met' if v['met'] else 'missed'}" for k, v in goals.items())
        return (f"Device (INT8 step student in C on a Cortex-M4F under QEMU): {a['same_class']}/{a['samples']} samples "
                f"with the host stream's class; goals: {met}; table: {device['table']}\n")
    return f"Device step skipped: {device['skipped']}\n" if "skipped" in device else ""


def summary_markdown(summary: dict) -> str:
    table = markdown_table(SUMMARY_COLUMNS, [summary_cells(r) for r in summary["table"]], left=2)
    return table + "\n" + summary_notes(summary)
