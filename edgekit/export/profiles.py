"""Export target profiles: `export/<name>.toml` files read into a typed, validated `TargetProfile`.

A profile says what to build for one deployment target: precision, opset, the execution provider
(CPU via onnxruntime, or a TensorRT engine), calibration (INT8), the tolerances a reduced-precision
model must meet (else the export fails, unless `--allow-drift`) and the latency budget. An unknown
key or an invalid value is an `EdgekitError` naming the file, the key and what is allowed.
"""

from __future__ import annotations

import enum
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, with_config

from edgekit.config_io import FORBID, Fraction, NonNegative, PositiveFloat, PositiveInt, parse
from edgekit.errors import EdgekitError
from edgekit.export.precision import Precision
from edgekit.resources import export_profiles_dir

MIN_OPSET = 18


class Provider(str, enum.Enum):
    CPU = "cpu"  # onnxruntime CPUExecutionProvider
    TENSORRT = "tensorrt"  # a serialized TensorRT engine built from the ONNX file
    CORTEX_M4 = "cortex-m4"  # the INT8 model as C99 for a Cortex-M4F with the bridge (edgekit.device)


class CalibrationMethod(str, enum.Enum):
    MINMAX = "minmax"
    ENTROPY = "entropy"
    PERCENTILE = "percentile"


@dataclass(frozen=True)
class Calibration:
    method: CalibrationMethod = CalibrationMethod.MINMAX
    size: PositiveInt = 512  # training windows fed through the model to collect activation ranges
    percentile: float = 99.999  # for CalibrationMethod.PERCENTILE


@with_config(FORBID)  # unknown keys are errors, also in [calibration]
@dataclass(frozen=True)
class TargetProfile:
    name: str
    precision: Precision
    provider: Provider = Provider.CPU
    opset: Annotated[int, Field(ge=MIN_OPSET, description=f"an ONNX opset >= {MIN_OPSET}")] = 18
    calibration: Calibration = field(default_factory=Calibration)
    latency_budget_ms: PositiveFloat | None = None  # per window at batch 1; checked by `edgekit bench`
    # INT8 vs fp32 on held-out windows: the export fails beyond it (never below one window's worth, what
    # the held-out set can resolve); FP16: advice only
    max_accuracy_drop_pp: NonNegative = 0.5
    # INT8 step model vs the fp32 step model on held-out windows: argmax agreement over every step,
    # and at the last step of each window (the prediction a stream gives at the end of a sequence)
    min_step_agreement: Fraction = 0.8
    min_step_agreement_last: Fraction = 0.9
    workspace_mib: PositiveInt = 1024  # TensorRT builder workspace
    description: str = ""


def list_profiles(folder: Path | None = None) -> list[str]:
    """Names of the profiles in `folder` (default: the ones shipped with edgekit)."""
    return sorted(p.stem for p in Path(folder or export_profiles_dir()).glob("*.toml"))


def load_profile(name_or_path: str | Path, folder: Path | None = None) -> TargetProfile:
    """A profile by name (`cpu-int8` → the shipped `export/cpu-int8.toml`) or by path to a TOML file."""
    folder = Path(folder or export_profiles_dir())
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = Path(folder) / f"{name_or_path}.toml"
        if not path.is_file():
            raise EdgekitError(f"unknown export target {str(name_or_path)!r}; available: "
                               f"{', '.join(list_profiles(folder)) or f'none (no profiles in {folder})'}")
    if not path.is_file():
        raise EdgekitError(f"{path}: no such export profile")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise EdgekitError(f"{path}: not valid TOML ({exc})") from None
    return profile_from_dict(data, where=str(path), default_name=path.stem)


def profile_from_dict(data: dict[str, Any], where: str = "profile", default_name: str = "custom") -> TargetProfile:
    return parse(TargetProfile, {"name": default_name, **data}, where, error=EdgekitError)
