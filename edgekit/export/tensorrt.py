"""Step 3 of the export chain (GPU targets): ONNX → serialized TensorRT engine.

The official `tensorrt` Python API (TensorRT 10): `Builder` → `NetworkDefinition` (explicit
batch, the only mode in TensorRT 10) → `OnnxParser` → `BuilderConfig` (workspace pool, FP16 /
INT8 flags, one optimization profile spanning the dynamic batch and time axes) →
`build_serialized_network`; then the engine inspector reports each layer's precision.

INT8 is *explicit* quantization: the scales come from the Q/DQ nodes of edgekit's INT8 ONNX, no
TensorRT calibrator runs. TensorRT quantizes symmetrically (zero point 0), so the trt-int8 target
quantizes activations as symmetric int8 rather than the uint8 the CPU target uses. TensorRT 11
drops the precision flags: there the network is built strongly typed and the ONNX file must
already carry its precision (the FP16 ONNX for FP16, the QDQ ONNX for INT8).

TensorRT is an optional extra (`pip install tensorrt`, NVIDIA GPU + CUDA); without it
`build_engine` raises one `EdgekitError` line saying so.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from edgekit.errors import EdgekitError
from edgekit.export.precision import Precision
from edgekit.io import atomic_path

INSTALL_HINT = "TensorRT is not installed: `pip install tensorrt` on a machine with an NVIDIA GPU and CUDA"


def import_tensorrt():
    try:
        import tensorrt as trt
    except ImportError:
        raise EdgekitError(INSTALL_HINT) from None
    return trt


@dataclass(frozen=True)
class ShapeRange:
    """min / opt / max of one dynamic axis, for the engine's optimization profile."""

    min: int
    opt: int
    max: int


@dataclass(frozen=True)
class EngineOptions:
    precision: Precision = Precision.FP16
    workspace_mib: int = 1024
    batch: ShapeRange = ShapeRange(1, 1, 64)
    time: ShapeRange = ShapeRange(1, 128, 512)


def _profile_shape(shape, axis_range: dict[int, ShapeRange]) -> tuple[tuple[int, ...], ...]:
    dims = [tuple(shape)] * 3
    out = []
    for which in range(3):
        picked = []
        for i, d in enumerate(dims[which]):
            if d >= 0:
                picked.append(d)
            else:
                r = axis_range.get(i, ShapeRange(1, 1, 1))
                picked.append((r.min, r.opt, r.max)[which])
        out.append(tuple(picked))
    return tuple(out)


def build_engine(onnx_path: str | Path, engine_path: str | Path, precision: Precision | str = Precision.FP16, *,
                 workspace_mib: int = 1024, options: EngineOptions | None = None) -> dict:
    """Build and write a serialized engine; return its size and per-layer precisions."""
    trt = import_tensorrt()
    options = options or EngineOptions(precision=Precision(precision), workspace_mib=workspace_mib)
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    weak_typing = hasattr(trt.BuilderFlag, "FP16")  # TensorRT 10; 11 builds strongly typed networks only
    flags = 0 if weak_typing else 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(Path(onnx_path).read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise EdgekitError(f"{onnx_path}: TensorRT's ONNX parser failed: {errors}")

    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, options.workspace_mib << 20)
    config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
    if weak_typing:
        config.set_flag(trt.BuilderFlag.FP16)  # layers outside Q/DQ pairs may use FP16 in both targets
        if options.precision is Precision.INT8:
            config.set_flag(trt.BuilderFlag.INT8)  # with Q/DQ nodes present: explicit quantization
    profile = builder.create_optimization_profile()
    for i in range(network.num_inputs):
        tensor = network.get_input(i)
        low, opt, high = _profile_shape(tensor.shape, {0: options.batch, 1: options.time})
        profile.set_shape(tensor.name, low, opt, high)
    config.add_optimization_profile(profile)

    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise EdgekitError(f"{onnx_path}: TensorRT could not build an engine (see the TensorRT log above)")
    with atomic_path(engine_path) as tmp:
        tmp.write_bytes(bytes(serialized))
    return {"path": str(engine_path), "size_bytes": Path(engine_path).stat().st_size,
            "precision": options.precision.value, "tensorrt": trt.__version__,
            "layer_precisions": layer_precisions(trt, logger, serialized)}


def layer_precisions(trt, logger, serialized) -> dict[str, int]:
    """How many engine layers output each data type (the engine inspector's detailed JSON)."""
    engine = trt.Runtime(logger).deserialize_cuda_engine(serialized)
    inspector = engine.create_engine_inspector()
    info = json.loads(inspector.get_engine_information(trt.LayerInformationFormat.JSON))
    counts: Counter = Counter()
    for layer in info.get("Layers", []):
        if not isinstance(layer, dict):  # non-detailed verbosity gives bare names
            counts["unknown"] += 1
            continue
        outputs = layer.get("Outputs") or [{}]
        fmt = str(outputs[0].get("Format/Datatype", "unknown"))
        counts[_datatype(fmt)] += 1
    return dict(sorted(counts.items()))


def _datatype(fmt: str) -> str:
    lowered = fmt.lower()
    for name in ("int8", "fp8", "half", "fp16", "float", "fp32", "int32", "bool"):
        if name in lowered:
            return {"half": "fp16", "float": "fp32"}.get(name, name)
    return fmt
