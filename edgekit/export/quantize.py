"""Step 2a of the export chain: fp32 ONNX → static INT8 ONNX (QDQ) with onnxruntime's tools.

Settings (measured in FIELD_NOTES): QDQ format, per-channel int8 weights, **uint8 activations**
(with int8 activations onnxruntime leaves depthwise convs in float and gives no speed-up), static
ranges calibrated on training windows through a `CalibrationDataReader`; MinMax, Entropy or
Percentile calibration. `quant_pre_process` (symbolic shape inference + onnxruntime's graph
optimizations, e.g. folding BatchNorm into Conv) runs first, so ranges are calibrated on the
graph that is quantized. `quantize_dynamic` is not offered: it makes conv nets slower.
A step model's recurrent state stays float (`state_path_nodes`). The result is judged against the
fp32 file on validation windows (INT8 parity tolerance and the profile's accuracy drop; a file that
misses fails the export unless `--allow-drift`, see `drift.py`) and its op census is taken
(`census.py`).
"""

from __future__ import annotations

import enum
import io
import logging
import tempfile
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx

from edgekit.errors import EdgekitError
from edgekit.export import names
from edgekit.export.census import graph_census, runtime_census
from edgekit.export.drift import Check, parity_checks, settle
from edgekit.export.metadata import copy_metadata
from edgekit.export.precision import TOLERANCES, Parity, Precision, compare_logits
from edgekit.export.profiles import Calibration, CalibrationMethod
from edgekit.export.windows import Windows, run_windows
from edgekit.io import atomic_path
from edgekit.runtime.session import make_session


class WindowReader:
    """onnxruntime `CalibrationDataReader` over equal-length batches of raw training windows.

    (Duck-typed: the base class only declares `get_next`; subclassing it would import
    onnxruntime.quantization at module import.)
    """

    def __init__(self, windows: Windows, batch_size: int = 32, input_name: str = names.INPUT):
        self._feeds = [{input_name: batch} for _, batch in windows.batches(batch_size)]
        self._next = 0

    def get_next(self) -> dict | None:
        if self._next >= len(self._feeds):
            return None
        self._next += 1
        return self._feeds[self._next - 1]

    def rewind(self) -> None:
        self._next = 0


class FeedReader(WindowReader):
    """A `CalibrationDataReader` over ready input dicts (step models: one sample plus its state)."""

    def __init__(self, feeds: list[dict[str, np.ndarray]]):
        self._feeds, self._next = list(feeds), 0


HISTOGRAM_METHODS = (CalibrationMethod.ENTROPY, CalibrationMethod.PERCENTILE)
HISTOGRAM_ROWS = 1024  # single-row feeds the histogram calibrators stack (memory grows with this)


def calibration_reader(windows: Windows, method: CalibrationMethod) -> WindowReader:
    """MinMax takes batches of any shape; histogram methods need one shape: cropped windows, batch 1."""
    if method in HISTOGRAM_METHODS:
        return WindowReader(windows.common_length(), batch_size=1)
    return WindowReader(windows)


def feed_reader(feeds: list[dict[str, np.ndarray]], method: CalibrationMethod, seed: int = 0) -> FeedReader:
    """Step-model feeds; for histogram methods split into single rows (one shape) and subsample."""
    if method not in HISTOGRAM_METHODS:
        return FeedReader(feeds)
    rows = [{k: v[i: i + 1] for k, v in feed.items()} for feed in feeds
            for i in range(len(next(iter(feed.values()))))]
    if len(rows) > HISTOGRAM_ROWS:
        pick = np.sort(np.random.default_rng(seed).choice(len(rows), HISTOGRAM_ROWS, replace=False))
        rows = [rows[i] for i in pick]
    return FeedReader(rows)


class Activations(str, enum.Enum):
    UINT8 = "uint8"  # asymmetric: onnxruntime CPU (its integer depthwise conv kernels want uint8)
    INT8_SYMMETRIC = "int8_symmetric"  # zero point 0: what TensorRT's explicit quantization accepts


@dataclass(frozen=True)
class QuantizeOptions:
    calibration: Calibration = Calibration()
    activations: Activations = Activations.UINT8
    pre_process: bool = True
    per_channel: bool = True
    float_state: bool = True  # step models: leave the nodes that carry the state in float (`state_path_nodes`)


def _ort_method(method: CalibrationMethod):
    from onnxruntime.quantization import CalibrationMethod as OrtMethod

    return {CalibrationMethod.MINMAX: OrtMethod.MinMax, CalibrationMethod.ENTROPY: OrtMethod.Entropy,
            CalibrationMethod.PERCENTILE: OrtMethod.Percentile}[CalibrationMethod(method)]


def quantize_int8_file(fp32_path: str | Path, int8_path: str | Path, reader, options: QuantizeOptions) -> None:
    """Quantize `fp32_path` into `int8_path` (written atomically), calibrating with `reader`."""
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory() as tmp, atomic_path(int8_path) as out:
        source = Path(tmp) / "prepared.onnx"
        if options.pre_process:
            quant_pre_process(str(fp32_path), str(source), skip_symbolic_shape=False)
        prepared = _name_nodes(onnx.load(str(source if options.pre_process else fp32_path)))
        exclude = state_path_nodes(prepared.graph) if options.float_state else []
        exclude += [name for name in float_front_nodes(prepared.graph) if name not in exclude]
        onnx.save(prepared, str(source))
        symmetric = options.activations is Activations.INT8_SYMMETRIC
        extra = {"ActivationSymmetric": symmetric, "WeightSymmetric": True}
        if options.calibration.method is CalibrationMethod.PERCENTILE:
            extra["CalibPercentile"] = options.calibration.percentile
        try:  # the histogram calibrators print their progress: kept off stdout (`--json` prints there)
            with _without_per_channel_rank_warning(), redirect_stdout(io.StringIO()):
                quantize_static(str(source), str(out), reader, quant_format=QuantFormat.QDQ,
                                per_channel=options.per_channel,
                                activation_type=QuantType.QInt8 if symmetric else QuantType.QUInt8,
                                weight_type=QuantType.QInt8, calibrate_method=_ort_method(options.calibration.method),
                                nodes_to_exclude=exclude, extra_options=extra)
        except ValueError as exc:
            if "Too many bins" not in str(exc):
                raise
            raise EdgekitError(
                f"calibration.method = {options.calibration.method.value!r}: onnxruntime's histogram calibrator "
                "cannot bin a tensor whose values all lie within a few thousand float32 steps (a student that "
                "standardises its window has one: the window's variance, about 1 on every window); expected "
                "calibration.method = 'minmax' (the default) or 'entropy'") from exc
        onnx.save(compact_names(onnx.load(str(out))), str(out))
        copy_metadata(fp32_path, out, Precision.INT8)


def state_path_nodes(graph: onnx.GraphProto) -> list[str]:
    """Names of the nodes on a path from a step model's `state_in_i` to its `state_out_i`.

    Why they stay float: a running-mean pool's state is a sum and a count that grow with every
    sample. Quantized, each step rounds them again to a uint8 grid calibrated on training windows,
    so the error adds up along a stream, and past those windows' length the grid saturates (the
    count stops growing). Conv buffers would be re-rounded once per step they are held. Left float,
    the state is what fp32 carries; what leaves it is quantized where it feeds an integer op, as in
    the window model. Measured on mbconv_tcn_causal_xs (sim quickstart, 12 epochs): argmax agreement
    with the fp32 step model per step 0.66 -> 0.80, at the last step 0.84 -> 0.91. A window model
    has no state inputs: nothing is excluded.
    """
    state_ins = [i.name for i in graph.input if i.name.startswith(names.STATE_IN.format(""))]
    producer = {out: node for node in graph.node for out in node.output}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    on_path: set[str] = set()
    for state_in, state_out in zip(*names.state_names(len(state_ins))):
        downstream, tensors = set(), [state_in]
        while tensors:
            for node in consumers.get(tensors.pop(), []):
                if node.name not in downstream:
                    downstream.add(node.name)
                    tensors.extend(node.output)
        upstream, tensors = set(), [state_out]
        while tensors:
            node = producer.get(tensors.pop())
            if node is not None and node.name not in upstream:
                upstream.add(node.name)
                tensors.extend(node.input)
        on_path |= downstream & upstream
    return sorted(on_path)


FLOAT_FRONT_SCOPE = "/window_standardize/"  # the exported name scope of a student's `WindowStandardize`


def float_front_nodes(graph: onnx.GraphProto) -> list[str]:
    """Names of the nodes that compute a student's per-window standardisation
    (`models/layers/window_standardize.py`), and of every node before them (the folded scaler).

    Why they stay float: the standardisation divides by the window's own spread. Quantized at the
    input's scale (set by the widest movements of the calibration windows), the small movements of a
    still window round to a few codes or to zero before they are divided. Left float, the
    standardised channels are quantized after it, at their own scale, where the stem conv reads them
    (the Concat stays quantized). A model without the layer has no such nodes: nothing is excluded.
    """
    producer = {out: node for node in graph.node for out in node.output}
    front = [node for node in graph.node if FLOAT_FRONT_SCOPE in node.name and node.op_type != "Concat"]
    kept, tensors = set(), [t for node in front for t in node.input]
    kept.update(node.name for node in front)
    while tensors:
        node = producer.get(tensors.pop())
        if node is not None and node.name not in kept:
            kept.add(node.name)
            tensors.extend(node.input)
    return sorted(kept)


def _name_nodes(model: onnx.ModelProto) -> onnx.ModelProto:
    # the quantizer excludes nodes by name, and graph optimizations leave some nodes unnamed
    taken = {node.name for node in model.graph.node}
    for i, node in enumerate(model.graph.node):
        if not node.name:
            name = f"unnamed_{i}"
            while name in taken:
                name += "_"
            node.name = name
            taken.add(name)
    return model


class _PerChannelRankFilter(logging.Filter):
    # ORT logs "Axis 1 is out-of-range for weight '...norm.weight' with rank 1" on the root logger
    # for every 1-D weight (LayerNorm) under per-channel quantization, then correctly falls back to
    # per-tensor; the op census reports what stayed in float, so this line only adds noise.
    def filter(self, record: logging.LogRecord) -> bool:
        return "is out-of-range for weight" not in record.getMessage()


@contextmanager
def _without_per_channel_rank_warning():
    root, quiet = logging.getLogger(), _PerChannelRankFilter()
    root.addFilter(quiet)
    try:
        yield
    finally:
        root.removeFilter(quiet)


def compact_names(model: onnx.ModelProto) -> onnx.ModelProto:
    """Rename every internal tensor to a short id, drop node names and inferred `value_info`.

    The quantizer names each tensor after its producer plus `_QuantizeLinear_Output` and friends;
    on a ~40 K-parameter student those names outweigh the int8 weights. Graph inputs and outputs
    keep their names (they are the runtime contract in `names.py`).
    """
    graph = model.graph
    keep = {i.name for i in graph.input} | {o.name for o in graph.output} | {""}
    renamed: dict[str, str] = {}

    def short(name: str) -> str:
        if name in keep:
            return name
        if name not in renamed:
            renamed[name] = f"t{len(renamed)}"
        return renamed[name]

    for init in graph.initializer:
        init.name = short(init.name)
    for node in graph.node:
        node.name = ""
        node.input[:] = [short(n) for n in node.input]
        node.output[:] = [short(n) for n in node.output]
    del graph.value_info[:]
    return model


def onnx_logits(path: str | Path, windows: Windows, batch_size: int = 64) -> np.ndarray:
    """`(N, K)` logits of a window model file over `windows` (single-threaded onnxruntime)."""
    session = make_session(path)
    return run_windows(lambda x: session.run([names.OUTPUT], {names.INPUT: x})[0], windows, batch_size)


def check_against_fp32(fp32_path: str | Path, path: str | Path, windows: Windows,
                       precision: Precision) -> tuple[Parity, np.ndarray, np.ndarray]:
    """Run the fp32 file and its converted `path` on `windows` and compare them with the tolerance of
    `precision`. A file that fails parity is deleted before the error is raised, so a broken model
    never stays under its final name. Returns (parity, fp32 logits, converted logits)."""
    fp32_logits = onnx_logits(fp32_path, windows)
    logits = onnx_logits(path, windows)
    parity = compare_logits(f"ONNX fp32 vs {Precision(precision).value.upper()} ({Path(path).name})", logits,
                            fp32_logits, TOLERANCES[Precision(precision)])
    if not parity.ok:
        Path(path).unlink(missing_ok=True)
        parity.require()
    return parity, fp32_logits, logits


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float | None:
    known = labels >= 0
    return float((logits[known].argmax(-1) == labels[known]).mean()) if known.any() else None


def quantize_int8(fp32_path: str | Path, int8_path: str | Path, calibration_windows: Windows,
                  validation_windows: Windows, options: QuantizeOptions = QuantizeOptions(),
                  max_accuracy_drop_pp: float = 0.5, *, reference_path: str | Path | None = None,
                  allow_drift: bool = False) -> dict:
    """Quantize, then judge the INT8 file on `validation_windows` and report accuracy, size and census.

    Its tolerance: INT8 parity with `fp32_path` and an accuracy drop of at most `max_accuracy_drop_pp`
    against `reference_path` (default `fp32_path`; --qat passes the original fp32 file, so what QAT
    buys is measured from where plain quantization started). A file that misses either is removed
    with an `EdgekitError`, or with `allow_drift` kept and marked (`drift.settle`).
    """
    calib = calibration_windows.subset(options.calibration.size, seed=0)
    reader = calibration_reader(calib, options.calibration.method)
    quantize_int8_file(fp32_path, int8_path, reader, options)
    source_logits, int8_logits = onnx_logits(fp32_path, validation_windows), onnx_logits(int8_path, validation_windows)
    parity = compare_logits(f"ONNX fp32 vs INT8 ({Path(int8_path).name})", int8_logits, source_logits,
                            TOLERANCES[Precision.INT8])
    ref_logits = source_logits if reference_path is None else onnx_logits(reference_path, validation_windows)
    report = {"path": str(int8_path), "calibration": {"method": options.calibration.method.value,
                                                      "windows": len(calib)},
              "activations": options.activations.value,
              "size_bytes": Path(int8_path).stat().st_size, "fp32_size_bytes": Path(fp32_path).stat().st_size,
              "parity": parity.to_dict(), "census": graph_census(int8_path),
              "runtime_census": runtime_census(int8_path)}
    report.update(accuracy_report(ref_logits, int8_logits, validation_windows.labels, max_accuracy_drop_pp, "int8"))
    checks = parity_checks(parity)
    if report["accuracy_drop_pp"] is not None:
        checks.append(Check("accuracy drop vs fp32 (pp)", report["accuracy_drop_pp"],
                            report["accuracy_drop_limit_pp"], at_least=False))
    report["tolerance"] = settle(int8_path, "INT8 model", checks, allow_drift,
                                 advice="try `--qat` or another calibration method")
    return report


def accuracy_report(ref_logits: np.ndarray, logits: np.ndarray, labels: np.ndarray, max_drop_pp: float,
                    label: str) -> dict:
    """Accuracy of fp32 and the reduced precision on labelled windows, the drop, and the `--qat` flag.

    The drop's limit is `max_drop_pp`, but never less than one window's worth (100 / labelled
    windows pp): on 96 windows one flipped window is 1.04 pp, a difference the held-out set cannot
    tell from noise, so a 0.5 pp limit would fail every export that flips a single window.
    """
    acc_ref, acc = accuracy(ref_logits, labels), accuracy(logits, labels)
    report: dict = {"accuracy_fp32": acc_ref, f"accuracy_{label}": acc, "max_accuracy_drop_pp": max_drop_pp}
    if acc_ref is None or acc is None:
        report.update(accuracy_drop_pp=None, accuracy_drop_limit_pp=None, accuracy_drop_exceeded=False)
        return report
    known = labels >= 0
    right_ref, right = ((x[known].argmax(-1) == labels[known]).sum() for x in (ref_logits, logits))
    # from window counts, so a drop of exactly one window equals the one-window limit (no rounding gap)
    drop, limit = 100.0 * int(right_ref - right) / int(known.sum()), max(max_drop_pp, 100.0 * 1 / int(known.sum()))
    report.update(accuracy_drop_pp=drop, accuracy_drop_limit_pp=limit, accuracy_drop_exceeded=drop > limit)
    if drop > limit:
        report["advice"] = (f"{label} loses {drop:.2f} pp of accuracy (threshold {limit:.3g} pp): "
                            "try `edgekit export RUN_DIR --int8 --qat` (fine-tune with fake quantization) "
                            "or another calibration method")
    return report
