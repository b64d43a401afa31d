"""Export target profiles: `export/<name>.toml` files read into a typed, validated `TargetProfile`.

A profile says what to build for one deployment target: precision, opset, the execution provider
(CPU via onnxruntime, or a TensorRT engine), calibration (INT8) and the latency budget. An unknown
key or an invalid value is an `EdgekitError` naming the file, the key and what is allowed.
"""

from __future__ import annotations

import enum
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from edgekit.errors import EdgekitError
from edgekit.export.precision import Precision
from edgekit.resources import export_profiles_dir

MIN_OPSET = 18


class Provider(str, enum.Enum):
    CPU = "cpu"  # onnxruntime CPUExecutionProvider
    TENSORRT = "tensorrt"  # a serialized TensorRT engine built from the ONNX file


class CalibrationMethod(str, enum.Enum):
    MINMAX = "minmax"
    ENTROPY = "entropy"
    PERCENTILE = "percentile"


@dataclass(frozen=True)
class Calibration:
    method: CalibrationMethod = CalibrationMethod.MINMAX
    size: int = 512  # training windows fed through the model to collect activation ranges
    percentile: float = 99.999  # for CalibrationMethod.PERCENTILE


@dataclass(frozen=True)
class TargetProfile:
    name: str
    precision: Precision
    provider: Provider = Provider.CPU
    opset: int = 18
    calibration: Calibration = field(default_factory=Calibration)
    latency_budget_ms: float | None = None  # per window at batch 1; checked by `edgekit bench`
    max_accuracy_drop_pp: float = 0.5  # INT8/FP16 vs fp32 on held-out windows before suggesting --qat
    workspace_mib: int = 1024  # TensorRT builder workspace
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
    data = dict(data)
    _check_keys(data, TargetProfile, where)
    calibration = data.pop("calibration", {})
    if not isinstance(calibration, dict):
        raise EdgekitError(f"{where}: [calibration] must be a table")
    _check_keys(calibration, Calibration, f"{where} [calibration]")
    calibration = dict(calibration)
    if "method" in calibration:
        calibration["method"] = _enum(CalibrationMethod, calibration["method"], f"{where} calibration.method")
    for key, kind in (("size", int), ("percentile", float)):
        if key in calibration:
            calibration[key] = _number(calibration[key], kind, f"{where} calibration.{key}")
    if calibration.get("size", 1) < 1:
        raise EdgekitError(f"{where}: calibration.size must be >= 1, got {calibration['size']}")
    if "precision" not in data:
        raise EdgekitError(f"{where}: missing key 'precision' (one of {_values(Precision)})")
    profile = TargetProfile(
        name=str(data.pop("name", default_name)),
        precision=_enum(Precision, data.pop("precision"), f"{where} precision"),
        provider=_enum(Provider, data.pop("provider", Provider.CPU.value), f"{where} provider"),
        calibration=Calibration(**calibration),
        **{k: _number(v, _field_type(k), f"{where} {k}") if k != "description" else str(v) for k, v in data.items()},
    )
    if profile.opset < MIN_OPSET:
        raise EdgekitError(f"{where}: opset {profile.opset} is too old; edgekit exports opset {MIN_OPSET} or newer")
    return profile


def _field_type(key: str) -> type:
    return {"opset": int, "latency_budget_ms": float, "max_accuracy_drop_pp": float, "workspace_mib": int}[key]


def _check_keys(data: dict, cls: type, where: str) -> None:
    allowed = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise EdgekitError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")


def _values(kind: type[enum.Enum]) -> list[str]:
    return [m.value for m in kind]


def _enum(kind: type[enum.Enum], value: Any, where: str):
    try:
        return kind(value)
    except ValueError:
        raise EdgekitError(f"{where}: {value!r} is not one of {_values(kind)}") from None


def _number(value: Any, kind: type, where: str):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and not isinstance(value, int)):
        raise EdgekitError(f"{where}: expected {'an integer' if kind is int else 'a number'}, got {value!r}")
    return kind(value)
