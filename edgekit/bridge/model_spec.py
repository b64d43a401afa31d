"""The FeatureSpec of the model a firmware engineer ships, for its bridge header and footprint.

A model's spec is read from where edgekit wrote it: a run directory's `feature_spec.json`
(`edgekit train`) or an exported ONNX file's `edgekit.feature_spec` metadata (`edgekit export`);
`edgekit bridge size --spec` also takes a bare FeatureSpec JSON file. The header itself is
`config.generate_header`, the one generator that `bridge golden` and the device package use too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from edgekit.errors import EdgekitError, SpecError
from edgekit.features import FeatureSpec
from edgekit.io import write_text_atomic
from edgekit.rundir import RunDir

C_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class ModelSpec:
    spec: FeatureSpec
    name: str  # a C identifier for ek_spec_<name>.h, from the run's folder or the model file's name
    source: Path


def c_name(text: str) -> str:
    """`text` as a lower-case C identifier: other characters become `_`, a leading digit gets `model_`."""
    name = re.sub(r"[^0-9a-z_]+", "_", text.lower()).strip("_") or "model"
    return f"model_{name}" if name[0].isdigit() else name


def load_model_spec(path: str | Path, *, spec_json: bool = False) -> ModelSpec:
    """The spec of a run directory or an edgekit ONNX model (or, with `spec_json`, of a
    FeatureSpec .json file); a one-line EdgekitError for anything else."""
    path = Path(path)
    expected = ("a run directory of `edgekit train` (with feature_spec.json) or an edgekit ONNX model (.onnx)"
                + (" or a FeatureSpec .json file" if spec_json else ""))
    if path.is_dir():
        return _from_run(RunDir(path), expected)
    if path.suffix == ".onnx":
        return _from_onnx(path)
    if spec_json and path.suffix == ".json":
        return ModelSpec(_parse(path.read_text(), path), c_name(path.stem), path)
    raise EdgekitError(f"{path}: not a model; expected {expected}")


def _from_run(run: RunDir, expected: str) -> ModelSpec:
    name = c_name(run.root.resolve().name)
    if run.feature_spec.is_file():
        return ModelSpec(_parse(run.feature_spec.read_text(), run.feature_spec), name, run.root)
    if run.is_run():
        raise EdgekitError(f"{run.root}: trained on raw channels, not on a FeatureSpec (no feature_spec.json); "
                           "the bridge computes FeatureSpec features, so it needs a run trained on features")
    raise EdgekitError(f"{run.root}: no feature_spec.json in this folder; expected {expected}")


def _from_onnx(path: Path) -> ModelSpec:
    from edgekit.runtime.metadata import FEATURE_SPEC, RAW_SPEC_PREFIX, read_metadata

    meta = read_metadata(path)
    if meta.feature_spec_hash.startswith(RAW_SPEC_PREFIX):
        raise EdgekitError(f"{path}: trained on raw channels, not on a FeatureSpec; the bridge computes "
                           "FeatureSpec features, so it needs a model trained on features")
    spec = _parse(meta.feature_spec_json, f"{path} ({FEATURE_SPEC})")
    _check_hash(spec, meta.feature_spec_hash, path)
    return ModelSpec(spec, c_name(path.name.split(".", 1)[0]), path)


def _parse(text: str, where) -> FeatureSpec:
    try:
        return FeatureSpec.from_json(text)
    except (SpecError, ValueError, TypeError, KeyError) as exc:
        raise SpecError(f"{where}: not a FeatureSpec ({exc}); expected FeatureSpec.to_json() as edgekit writes it") \
            from None


def _check_hash(spec: FeatureSpec, recorded: str, where) -> None:
    """A header must carry the hash the model was exported with: refuse a spec that no longer hashes to it."""
    if recorded != spec.hash():
        raise SpecError(f"{where}: records feature spec hash {recorded} but its feature spec hashes to "
                        f"{spec.hash()}; re-export the model")


def write_spec_header(model: ModelSpec, out: str | Path, name: str | None = None) -> dict:
    """Write `ek_spec_<name>.h` for the model's spec to `out` (a file, or a folder to put it in);
    `name` defaults to the model's. Returns what was written: path, hash, sizes, input order."""
    from edgekit.bridge.config import bridge_config, generate_header

    name = name or model.name
    if not C_NAME.fullmatch(name):
        raise SpecError(f"header name {name!r}; expected a C identifier (letters, digits, _; not starting with a digit)")
    try:
        cfg = bridge_config(model.spec)
    except SpecError as exc:  # the message says what the C cannot compute; add whose spec it is
        raise SpecError(f"{model.source}: {exc}") from None
    out = Path(out)
    path = out / f"ek_spec_{name.lower()}.h" if out.is_dir() else out
    write_text_atomic(path, generate_header(model.spec, name))
    return {"header": str(path), "source": str(model.source), "config": f"ek_spec_{name.lower()}",
            "spec_hash": cfg.spec_hash, "hash_macro": f"EK_SPEC_{name.upper()}_HASH", "n_inputs": cfg.n_inputs,
            "n_features": cfg.n_features, "workspace_words": cfg.workspace_words(),
            "input_columns": list(model.spec.input_columns())}
