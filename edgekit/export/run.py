"""`export_run`: a run directory's student → fp32 / INT8 / FP16 ONNX (+ step model, + engine) with
parity and accuracy reports. The library half of `edgekit export`.

The chain, each step file in → file out with a parity check against the step before:

    student (torch) ─ export_window_model ─→ student.fp32.onnx ─┬ quantize_int8 ─→ student.int8.onnx
                                                                ├ convert_fp16  ─→ student.fp16.onnx
                                                                └ build_engine  ─→ student.<target>.engine
    streamable students also: export_step_model ─→ student.step.fp32.onnx (─ INT8 ─→ student.step.int8.onnx)
    --qat: qat_finetune → student.qat.fp32.onnx → quantize_int8 (accuracy still against the original fp32)

Every INT8 file must meet the profile's tolerance (parity, accuracy drop, step-model agreement) or
the export fails naming it; `--allow-drift` keeps it, marked (`drift.py`).

Windows: calibration uses training windows, parity and accuracy the held-out test windows. They are
rebuilt with the trainer's own data code (`edgekit.train.prepare.prepare` on the run's resolved
`recipe.toml`; `data` overrides the recipe's data source) and un-scaled back to raw features, since
the exported graph takes raw features. The rebuilt feature spec must hash to the run's.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from edgekit.errors import EdgekitError
from edgekit.export.metadata import ModelInfo
from edgekit.export.precision import Precision
from edgekit.export.profiles import Provider, TargetProfile, load_profile
from edgekit.export.qat import QatOptions
from edgekit.export.quantize import Activations, QuantizeOptions
from edgekit.export.scratch import scratch_dir
from edgekit.export.windows import Windows
from edgekit.io import write_json_atomic
from edgekit.rundir import RunDir
from edgekit.train.fingerprint import exported_fingerprint
from edgekit.runtime.metadata import RAW_SPEC_PREFIX

REPORT_NAME = "export_report.json"
DEFAULT_OUT = "export"


@dataclass
class ExportWindows:
    calibration: Windows  # training windows, raw features
    validation: Windows  # held-out windows, raw features
    source: str = "given"


def windows_from_arrays(x: np.ndarray, mask: np.ndarray, labels: np.ndarray, scaler) -> Windows:
    """Trainer arrays (scaled, right-padded) → raw-feature `Windows` of real samples only."""
    raw = np.asarray(x, np.float64) * np.asarray(scaler.std, np.float64) + np.asarray(scaler.mean, np.float64)
    return Windows.from_padded(raw.astype(np.float32), labels, mask)


def rebuild_windows(run: RunDir, scaler, data: str | Path | None = None) -> tuple[ExportWindows, object]:
    """Training and held-out windows of the run, rebuilt by the trainer's own code."""
    from edgekit.train.prepare import prepare
    from edgekit.train.recipe import load_recipe

    if not run.recipe.exists():
        raise EdgekitError(f"{run.root}: missing recipe.toml; cannot rebuild the calibration and validation "
                           "windows (pass --data with the training data, or re-run `edgekit train`)")
    recipe = load_recipe(run.recipe, [f"data.source={data}"] if data is not None else [])
    prepared = prepare(recipe, needs_folds=False)
    if "test" not in prepared.tests:
        raise EdgekitError(f"{run.root}: the recipe gives no held-out test set for the accuracy report")
    train, test = prepared.train, prepared.tests["test"]
    windows = ExportWindows(windows_from_arrays(train.x, train.mask, train.labels, scaler),
                            windows_from_arrays(test.x, test.mask, test.labels, scaler),
                            source=str(data or recipe.data.source))
    return windows, prepared.spec


def _spec_identity(run: RunDir, channels: tuple[str, ...]) -> tuple[str, str, float | None]:
    """(spec JSON, spec hash, sample period) of the run; raw-channel runs hash their channel list."""
    if run.feature_spec.exists():
        from edgekit.features import FeatureSpec

        spec = FeatureSpec.from_json(run.feature_spec.read_text())
        return spec.to_json(), spec.hash(), spec.sample_period_s
    import hashlib

    text = json.dumps({"raw_channels": list(channels)})
    return text, RAW_SPEC_PREFIX + hashlib.sha256(text.encode()).hexdigest()[:16], None


def load_run(run_dir: str | Path):
    """(student model, scaler, ModelInfo) of a run directory."""
    from edgekit.rundir import load_model
    from edgekit.train.tensors import Scaler

    run = RunDir(run_dir)
    model = load_model(run.student)
    name = json.loads((run.student / "model.json").read_text())["name"]
    if not run.scaler.exists():
        raise EdgekitError(f"{run.root}: missing scaler.json; the export folds it into the graph")
    scaler = Scaler.load(run.scaler)
    data = run.read_json(run.data)
    channels = tuple(data.get("channels") or scaler.channels)
    spec_json, spec_hash, period = _spec_identity(run, channels)
    recorded = data.get("feature_spec_hash")
    if recorded and recorded != spec_hash:
        raise EdgekitError(f"{run.root}: data.json records feature spec hash {recorded} but feature_spec.json "
                           f"hashes to {spec_hash}; the run directory is inconsistent")
    for key in ("class_names", "length"):
        if key not in data:
            raise EdgekitError(f"{run.data}: missing {key!r}")
    info = ModelInfo(model=name, feature_spec_json=spec_json, feature_spec_hash=spec_hash, channels=channels,
                     class_names=tuple(data["class_names"]), window_length=int(data["length"]),
                     padding=str(data.get("padding", "right")),
                     sample_period_s=float(data.get("sample_period_s") or period or 0.0),
                     checkpoint=exported_fingerprint(run.student))
    return model, scaler, info


def _profile(target: TargetProfile | str) -> TargetProfile:
    return target if isinstance(target, TargetProfile) else load_profile(target)


def _classification(windows: Windows, logits: np.ndarray, class_names) -> dict | None:
    known = windows.labels >= 0
    if not known.any():
        return None
    from edgekit.metrics import classification_report

    report = classification_report(windows.labels[known], logits[known], class_names)
    return {"accuracy": report["accuracy"], "macro_f1": report["macro_f1"]}


def export_run(run_dir: str | Path, *, target: TargetProfile | str = "cpu-fp32", out_dir: str | Path | None = None,
               qat: bool = False, qat_options: QatOptions = QatOptions(), windows: ExportWindows | None = None,
               data: str | Path | None = None, max_validation: int | None = None, step_parity_windows: int = 8,
               allow_drift: bool = False) -> dict:
    """Export the run's student for `target` and return the report (also written to `export_report.json`).

    A reduced-precision model that misses the profile's tolerance fails the export, unless
    `allow_drift` (then it is kept and marked in its metadata; `drift.py`). Temporaries live in
    the output folder and what an interrupted export left there goes first (`scratch.py`).
    """
    started = time.perf_counter()
    profile = _profile(target)
    if profile.provider is Provider.TENSORRT:
        from edgekit.export.tensorrt import import_tensorrt

        import_tensorrt()  # fail in one line before any work when TensorRT is missing
    run = RunDir(run_dir)
    model, scaler, info = load_run(run.root)
    if windows is None:
        windows, spec = rebuild_windows(run, scaler, data)
        if spec is not None and spec.hash() != info.feature_spec_hash:
            raise EdgekitError(f"{run.root}: the rebuilt data has feature spec hash {spec.hash()} but the run was "
                               f"trained on {info.feature_spec_hash}; pass the run's data with --data")
    if qat and profile.precision is not Precision.INT8:
        raise EdgekitError(f"--qat fine-tunes for INT8; target {profile.name!r} is {profile.precision.value}")
    validation = windows.validation.subset(max_validation, seed=1)
    out = Path(out_dir) if out_dir is not None else run.root / DEFAULT_OUT
    out.mkdir(parents=True, exist_ok=True)
    report: dict = {"run_dir": str(run.root), "target": _profile_dict(profile), "model": info.model,
                    "feature_spec_hash": info.feature_spec_hash, "allow_drift": allow_drift, "windows": {
                        "source": windows.source, "calibration": len(windows.calibration),
                        "validation": len(validation)}}
    with scratch_dir(out):
        _export_models(report, model, scaler, info, out, windows, validation, profile, qat, qat_options,
                       step_parity_windows, allow_drift)
    report["seconds"] = round(time.perf_counter() - started, 3)
    write_json_atomic(out / REPORT_NAME, report)
    report["report_path"] = str(out / REPORT_NAME)
    return report


def _export_models(report: dict, model, scaler, info: ModelInfo, out: Path, windows: ExportWindows,
                   validation: Windows, profile: TargetProfile, qat: bool, qat_options: QatOptions,
                   step_parity_windows: int, allow_drift: bool) -> None:
    """The chain of the module docstring, each step's report added to `report`."""
    from edgekit.export.onnx import ExportOptions, export_window_model
    from edgekit.export.quantize import onnx_logits
    from edgekit.export.streaming import export_step_model, is_streamable

    paths = {p: out / f"student.{p}.onnx" for p in ("fp32", "int8", "fp16", "qat.fp32", "step.fp32", "step.int8")}
    parity_batches = [batch for _, batch in validation.batches(64)]
    fp32 = export_window_model(model, scaler, info, paths["fp32"], parity_batches,
                               ExportOptions(opset=profile.opset))
    fp32_logits = onnx_logits(paths["fp32"], validation)
    fp32["metrics"] = _classification(validation, fp32_logits, info.class_names)
    report["fp32"] = fp32
    streamable = is_streamable(model)
    if streamable:
        report["step_fp32"] = export_step_model(
            model, scaler, info, paths["step.fp32"], window_path=paths["fp32"],
            parity_windows=validation.subset(step_parity_windows, seed=2), opset=profile.opset)

    quant_options = QuantizeOptions(calibration=profile.calibration,
                                    activations=Activations.INT8_SYMMETRIC if profile.provider is Provider.TENSORRT
                                    else Activations.UINT8)
    if profile.precision is Precision.INT8:
        report["int8"] = _int8(model, scaler, info, paths, windows, validation, profile, quant_options, qat,
                               qat_options, allow_drift)
        if streamable:
            from edgekit.export.streaming import quantize_step_model

            report["step_int8"] = quantize_step_model(
                paths["step.fp32"], paths["step.int8"], windows.calibration, validation.subset(64, seed=3),
                quant_options, min_agreement_per_step=profile.min_step_agreement,
                min_agreement_last_step=profile.min_step_agreement_last, allow_drift=allow_drift)
        if profile.provider is Provider.CORTEX_M4:
            from edgekit.device.export import export_device

            report["device"] = export_device(out, paths["int8"], paths["step.int8"] if streamable else None, validation)
    elif profile.precision is Precision.FP16:
        from edgekit.export.fp16 import convert_fp16

        report["fp16"] = convert_fp16(paths["fp32"], paths["fp16"], validation, profile.max_accuracy_drop_pp)
        report["fp16"]["metrics"] = _classification(validation, onnx_logits(paths["fp16"], validation),
                                                    info.class_names)
    if profile.provider is Provider.TENSORRT:
        from edgekit.export.tensorrt import EngineOptions, ShapeRange, build_engine

        source = paths["int8"] if profile.precision is Precision.INT8 else paths["fp32"]
        length = max(1, info.window_length)
        report["engine"] = build_engine(source, out / f"student.{profile.name}.engine", options=EngineOptions(
            precision=profile.precision, workspace_mib=profile.workspace_mib,
            time=ShapeRange(1, length, 4 * length)))


def _int8(model, scaler, info, paths, windows: ExportWindows, validation: Windows, profile: TargetProfile,
          quant_options: QuantizeOptions, qat: bool, qat_options: QatOptions, allow_drift: bool) -> dict:
    from edgekit.export.onnx import ExportOptions, export_window_model
    from edgekit.export.quantize import onnx_logits, quantize_int8

    source, qat_report = paths["fp32"], None
    if qat:
        from edgekit.export.qat import qat_finetune

        x, mask = windows.calibration.padded_right()
        scaled = scaler.apply(x, mask)  # the trainer's own normalization of its inputs
        tuned, qat_report = qat_finetune(model, scaled, mask, windows.calibration.labels, len(info.class_names),
                                         qat_options)
        qat_report["fp32"] = export_window_model(tuned, scaler, info, paths["qat.fp32"],
                                                 [b for _, b in validation.batches(64)],
                                                 ExportOptions(opset=profile.opset))
        source = paths["qat.fp32"]
    report = quantize_int8(source, paths["int8"], windows.calibration, validation, quant_options,
                           profile.max_accuracy_drop_pp, reference_path=paths["fp32"] if qat else None,
                           allow_drift=allow_drift)
    if qat:
        report["qat"] = qat_report
    report["metrics"] = _classification(validation, onnx_logits(paths["int8"], validation), info.class_names)
    return report


def _profile_dict(profile: TargetProfile) -> dict:
    d = asdict(profile)
    d["precision"], d["provider"] = profile.precision.value, profile.provider.value
    d["calibration"]["method"] = profile.calibration.method.value
    return d
