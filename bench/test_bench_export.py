"""fp32 vs INT8 vs FP16 onnxruntime latency of the exported students, batch 1 and 64, one thread.

Run with `make bench` (or `pytest bench/test_bench_export.py`). Each benchmark's `extra_info`
records the model, precision, provider, threads, batch, file size and library versions; groups
put the three precisions of one model and batch side by side. The models are the on-device
presets at 40 input channels and 128-sample windows; weights come from a short fit on random
data (latency does not depend on them) and INT8 is calibrated on those windows.
"""

from __future__ import annotations


import numpy as np
import onnxruntime as ort
import pytest

torch = pytest.importorskip("torch")

from edgekit.export import names  # noqa: E402
from edgekit.export.fp16 import convert_fp16_file  # noqa: E402
from edgekit.export.metadata import ModelInfo  # noqa: E402
from edgekit.export.onnx import export_window_model  # noqa: E402
from edgekit.export.quantize import QuantizeOptions, WindowReader, quantize_int8_file  # noqa: E402
from edgekit.export.windows import Windows  # noqa: E402
from edgekit.features import FeatureSpec  # noqa: E402
from edgekit.models.registry import create_model  # noqa: E402
from edgekit.runtime.session import make_session  # noqa: E402
from edgekit.train.tensors import Scaler  # noqa: E402

MODELS = ["modern_tcn_xs", "mbconv_tcn_xs", "mbconv_tcn_causal_xs"]
PRECISIONS = ["fp32", "int8", "fp16"]
BATCHES = [1, 64]
IN_CHS, LENGTH, CLASSES = 40, 128, 18
THREADS = 1


@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    windows = Windows(list(rng.normal(size=(128, LENGTH, IN_CHS)).astype(np.float32)), np.zeros(128))
    scaler = Scaler.fit(windows.sequences, [f"f{i}" for i in range(IN_CHS)])
    spec = FeatureSpec.uci_har_default()
    files = {}
    for name in MODELS:
        torch.manual_seed(0)
        model = create_model(name, in_chs=IN_CHS, num_classes=CLASSES).eval()
        folder = tmp_path_factory.mktemp(name)
        info = ModelInfo.from_spec(name, spec, [f"c{i}" for i in range(CLASSES)], LENGTH, channels=scaler.channels)
        export_window_model(model, scaler, info, folder / "fp32.onnx", [windows.sequences[0][None]])
        quantize_int8_file(folder / "fp32.onnx", folder / "int8.onnx", WindowReader(windows), QuantizeOptions())
        convert_fp16_file(folder / "fp32.onnx", folder / "fp16.onnx")
        files[name] = folder
    return files


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("name", MODELS)
def test_latency(benchmark, model_files, machine, name, precision, batch):
    path = model_files[name] / f"{precision}.onnx"
    session = make_session(path, threads=THREADS)
    x = np.random.default_rng(1).normal(size=(batch, LENGTH, IN_CHS)).astype(np.float32)
    feeds = {names.INPUT: x}
    session.run([names.OUTPUT], feeds)  # warm-up
    benchmark.group = f"{name} batch {batch}"
    benchmark.extra_info.update({
        "model": name, "precision": precision, "batch": batch, "threads": THREADS, "window": LENGTH,
        "in_chs": IN_CHS, "provider": "CPUExecutionProvider", "size_bytes": path.stat().st_size,
        "onnxruntime": ort.__version__, "torch": torch.__version__,
        "machine": machine,
    })
    benchmark(session.run, [names.OUTPUT], feeds)
