"""Runtime latency side by side: the on-device teacher ensemble vs the student fp32 / INT8 window
models vs the stateful step model per sample, batch 1, one onnxruntime thread, 128-sample windows.

    .venv/bin/python -m pytest bench/test_bench_runtime.py --benchmark-json=results/bench/benchmark.json

The teacher ensemble is `recipes/sim/teacher_ensemble.toml` at its real sizes (squeezeformer,
cnn_bigru_attn, resnet1d; 5 folds each) exported as one ONNX graph that averages all 15 fold
models (`edgekit.export.teachers`); the student is `mbconv_tcn_causal_xs` (that recipe's
`modern_tcn_xs` is not streamable), with its step model. Weights are random (latency does not
depend on them); INT8 is calibrated on random windows. Inputs are the 101 `cmi_default` features.
`test_side_by_side` also writes `results/bench/runtime.{json,md,png}` (`edgekit.runtime.bench`:
p50/p90/p99, throughput, size, MACs, ratios) for `bench/make_tables.py`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from edgekit.features import FeatureSpec  # noqa: E402
from edgekit.runtime.bench import BenchModel, BenchOptions, _feeds, bench_models, ratio  # noqa: E402
from edgekit.runtime.session import ModelSession  # noqa: E402

LENGTH, CLASSES, THREADS = 128, 18, 1
TEACHERS = [("squeezeformer", dict(d_model=128, layers=4, num_heads=4, d_ff=512, kernel_size=15)),
            ("cnn_bigru_attn", {}), ("resnet1d", dict(stem_chs=64))]
FOLDS = 5
STUDENT = "mbconv_tcn_causal_xs"
LABELS = {"teachers": "teacher ensemble fp32 (3 x 5 folds)", "fp32": "student fp32", "int8": "student INT8",
          "step": "student step fp32", "step_int8": "student step INT8"}


@pytest.fixture(scope="module")
def model_files(tmp_path_factory) -> dict[str, object]:
    from edgekit.export.metadata import ModelInfo
    from edgekit.export.onnx import export_window_model
    from edgekit.export.quantize import QuantizeOptions, WindowReader, feed_reader, quantize_int8_file
    from edgekit.export.streaming import export_step_model, step_through
    from edgekit.export.teachers import AveragedEnsemble
    from edgekit.export.windows import Windows
    from edgekit.models.registry import create_model
    from edgekit.train.tensors import Scaler

    torch.set_num_threads(1)
    spec = FeatureSpec.cmi_default()
    chs = len(spec.names())
    rng = np.random.default_rng(0)
    windows = Windows(list(rng.normal(size=(64, LENGTH, chs)).astype(np.float32)), np.zeros(64, dtype=np.int64))
    scaler = Scaler.fit(windows.sequences, spec.names())
    classes = [f"c{i}" for i in range(CLASSES)]
    folder = tmp_path_factory.mktemp("runtime_bench")
    files = {}
    torch.manual_seed(0)
    members = [[create_model(name, in_chs=chs, num_classes=CLASSES, **options).eval() for _ in range(FOLDS)]
               for name, options in TEACHERS]
    info = ModelInfo.from_spec("teacher_ensemble", spec, classes, LENGTH, padding="right")
    files["teachers"] = folder / "teachers.fp32.onnx"
    export_window_model(AveragedEnsemble(members).eval(), scaler, info, files["teachers"], [windows.sequences[0][None]])
    student = create_model(STUDENT, in_chs=chs, num_classes=CLASSES).eval()
    info = ModelInfo.from_spec(STUDENT, spec, classes, LENGTH, padding="right")
    files["fp32"], files["int8"] = folder / "student.fp32.onnx", folder / "student.int8.onnx"
    export_window_model(student, scaler, info, files["fp32"], [windows.sequences[0][None]])
    quantize_int8_file(files["fp32"], files["int8"], WindowReader(windows), QuantizeOptions())
    files["step"], files["step_int8"] = folder / "student.step.fp32.onnx", folder / "student.step.int8.onnx"
    export_step_model(student, scaler, info, files["step"], window_path=files["fp32"], parity_windows=windows.subset(1))
    options = QuantizeOptions()
    feeds = step_through(files["step"], np.stack(windows.sequences[:8])[:, :32], collect_feeds=True)[1]
    quantize_int8_file(files["step"], files["step_int8"], feed_reader(feeds, options.calibration.method), options)
    return files


@pytest.fixture(scope="module")
def machine_extra(machine):
    from edgekit.runtime.machine import version_of

    return {**machine, "onnx": version_of("onnx"), "onnxruntime": version_of("onnxruntime"), "threads": THREADS,
            "provider": "CPUExecutionProvider"}


@pytest.mark.parametrize("key", list(LABELS))
def test_latency(benchmark, model_files, machine_extra, key):
    session = ModelSession(model_files[key], threads=THREADS)
    feeds = _feeds(session, 1, LENGTH, np.random.default_rng(1))
    outputs = list(session.metadata.outputs)
    session.session.run(outputs, feeds)  # warm-up
    benchmark.group = "runtime: batch 1, one thread (window = 128 samples; step = one sample)"
    benchmark.extra_info.update({"model": LABELS[key], "kind": session.metadata.kind,
                                 "precision": session.metadata.precision, "batch": 1, "window": LENGTH,
                                 "size_bytes": model_files[key].stat().st_size, **machine_extra})
    benchmark(session.session.run, outputs, feeds)


def test_side_by_side(model_files):
    """edgekit.runtime.bench over the same files at batch 1 and 64: the README's runtime table."""
    from edgekit.io import write_json_atomic, write_text_atomic
    from edgekit.runtime.report import bench_markdown, bench_plot

    result = bench_models([BenchModel(LABELS[k], model_files[k]) for k in LABELS],
                          BenchOptions(threads=(THREADS,), batches=(1, 64), runs=200, length=LENGTH))
    result["goals"] = {
        "int8_vs_teachers_speedup_b1_t1": ratio(result, LABELS["teachers"], LABELS["int8"]),
        "window128_vs_step_macs_ratio": ratio(result, LABELS["fp32"], LABELS["step"], what="macs")}
    out = Path(__file__).resolve().parents[1] / "results" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / "runtime.json", result)
    write_text_atomic(out / "runtime.md", bench_markdown(result))
    bench_plot(result, out / "runtime.png")
    assert result["goals"]["window128_vs_step_macs_ratio"] > 1  # a measurement, not a wall-clock assertion
