"""What an edgekit ONNX file says about itself, in `metadata_props` (torch-free).

The keys are declared here once: the exporter writes them (`edgekit.export.metadata`), the
runtime reads them instead of guessing. Values are strings (ONNX requires it); structured values
are JSON. A file without `edgekit.format` is not an edgekit model.

| key | value |
|---|---|
| `edgekit.format` | metadata format version (an integer) |
| `edgekit.version` | edgekit version that exported the file |
| `edgekit.kind` | `window` (features → logits) or `step` (one sample + state → logits + next state) |
| `edgekit.precision` | `fp32`, `fp16` or `int8` |
| `edgekit.model` | registry name of the exported model |
| `edgekit.feature_spec` | `FeatureSpec.to_json()` of the features the model expects |
| `edgekit.feature_spec_hash` | `FeatureSpec.hash()` (16 hex digits) |
| `edgekit.channels` | JSON list: the input channel names, in input order |
| `edgekit.class_names` | JSON list: the class of each logit |
| `edgekit.window_length` | the training window length in samples (the exported graph accepts any length) |
| `edgekit.padding` | `left` or `right`: how training windows were padded |
| `edgekit.sample_period_s` | seconds between samples |
| `edgekit.inputs` / `edgekit.outputs` | JSON lists of the graph's input / output names |
| `edgekit.state_shapes` | JSON list of per-sample state shapes (step models; state i is `(batch, *shape)`) |
| `edgekit.normalization` | `folded`: the graph normalises raw features itself |
| `edgekit.drift` | only on a reduced-precision file kept with `export --allow-drift`: which tolerance it misses |
| `edgekit.checkpoint` | the fingerprint of the trained model the file came from (`student/stage.json`); the files exported from one checkpoint carry the same value, and the runtime refuses a model whose sibling files (same stem, same folder) carry another |
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from edgekit.errors import EdgekitError

METADATA_FORMAT = 1
PREFIX = "edgekit."

FORMAT = PREFIX + "format"
VERSION = PREFIX + "version"
KIND = PREFIX + "kind"
PRECISION = PREFIX + "precision"
MODEL = PREFIX + "model"
FEATURE_SPEC = PREFIX + "feature_spec"
FEATURE_SPEC_HASH = PREFIX + "feature_spec_hash"
CHANNELS = PREFIX + "channels"
CLASS_NAMES = PREFIX + "class_names"
WINDOW_LENGTH = PREFIX + "window_length"
PADDING = PREFIX + "padding"
SAMPLE_PERIOD_S = PREFIX + "sample_period_s"
INPUTS = PREFIX + "inputs"
OUTPUTS = PREFIX + "outputs"
STATE_SHAPES = PREFIX + "state_shapes"
NORMALIZATION = PREFIX + "normalization"
DRIFT = PREFIX + "drift"
CHECKPOINT = PREFIX + "checkpoint"

KIND_WINDOW = "window"
KIND_STEP = "step"
# The feature_spec_hash of a model trained on raw channels (no FeatureSpec) starts with this: the
# exporter writes it, the stream refuses such a model (it computes features with the C bridge).
RAW_SPEC_PREFIX = "raw:"


@dataclass(frozen=True)
class ModelInfo:
    """What a run knows about a model before any file is exported: its registry name, the feature
    spec it was trained on, channels, classes, window and sample period."""

    model: str  # registry name
    feature_spec_json: str
    feature_spec_hash: str
    channels: tuple[str, ...]
    class_names: tuple[str, ...]
    window_length: int
    padding: str
    sample_period_s: float
    checkpoint: str = ""  # fingerprint of the trained model the export came from ("" for hand-made runs)

    @classmethod
    def from_spec(cls, model: str, spec, class_names: Sequence[str], window_length: int, padding: str = "left",
                  channels: Sequence[str] | None = None) -> "ModelInfo":
        """From a `FeatureSpec` (its names are the channels unless the run says otherwise)."""
        return cls(model, spec.to_json(), spec.hash(), tuple(channels or spec.names()), tuple(class_names),
                   int(window_length), padding, float(spec.sample_period_s))


@dataclass(frozen=True, kw_only=True)
class ModelMetadata(ModelInfo):
    """The runtime facts of one exported model (see the table in this module's docstring): the
    run's `ModelInfo` plus what the file itself is (kind, precision, I/O names, state shapes)."""

    kind: str
    precision: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    state_shapes: tuple[tuple[int, ...], ...] = ()
    normalization: str = "folded"
    drift: str = ""  # non-empty: exported with --allow-drift although it misses its tolerance (says which)
    version: str = ""
    format: int = METADATA_FORMAT

    def to_props(self) -> dict[str, str]:
        """The `metadata_props` key → string value map."""
        return {
            FORMAT: str(self.format),
            VERSION: self.version,
            KIND: self.kind,
            PRECISION: self.precision,
            MODEL: self.model,
            FEATURE_SPEC: self.feature_spec_json,
            FEATURE_SPEC_HASH: self.feature_spec_hash,
            CHANNELS: json.dumps(list(self.channels)),
            CLASS_NAMES: json.dumps(list(self.class_names)),
            WINDOW_LENGTH: str(self.window_length),
            PADDING: self.padding,
            SAMPLE_PERIOD_S: repr(float(self.sample_period_s)),
            INPUTS: json.dumps(list(self.inputs)),
            OUTPUTS: json.dumps(list(self.outputs)),
            STATE_SHAPES: json.dumps([list(s) for s in self.state_shapes]),
            NORMALIZATION: self.normalization,
            **({DRIFT: self.drift} if self.drift else {}),
            **({CHECKPOINT: self.checkpoint} if self.checkpoint else {}),
        }

    @classmethod
    def from_props(cls, props: dict[str, str], where: str = "model") -> "ModelMetadata":
        if FORMAT not in props:
            raise EdgekitError(f"{where}: not an edgekit model (no {FORMAT} in its ONNX metadata_props); "
                               "export it with `edgekit export`")
        try:
            found = int(props[FORMAT])
        except ValueError:
            raise EdgekitError(f"{where}: {FORMAT} is {props[FORMAT]!r}, expected an integer") from None
        if found != METADATA_FORMAT:
            raise EdgekitError(f"{where}: edgekit metadata format {found}; this edgekit reads format {METADATA_FORMAT}")
        _check_spec_json(props.get(FEATURE_SPEC), where)
        try:
            meta = cls(
                kind=props[KIND],
                precision=props[PRECISION],
                model=props.get(MODEL, ""),
                feature_spec_json=props[FEATURE_SPEC],
                feature_spec_hash=props[FEATURE_SPEC_HASH],
                channels=tuple(json.loads(props[CHANNELS])),
                class_names=tuple(json.loads(props[CLASS_NAMES])),
                window_length=int(props[WINDOW_LENGTH]),
                padding=props[PADDING],
                sample_period_s=float(props[SAMPLE_PERIOD_S]),
                inputs=tuple(json.loads(props[INPUTS])),
                outputs=tuple(json.loads(props[OUTPUTS])),
                state_shapes=tuple(tuple(int(d) for d in s) for s in json.loads(props.get(STATE_SHAPES, "[]"))),
                normalization=props.get(NORMALIZATION, "folded"),
                drift=props.get(DRIFT, ""),
                checkpoint=props.get(CHECKPOINT, ""),
                version=props.get(VERSION, ""),
                format=found,
            )
        except KeyError as exc:
            raise EdgekitError(f"{where}: edgekit metadata lacks {exc.args[0]}; re-export the model") from None
        except (ValueError, TypeError) as exc:
            raise EdgekitError(f"{where}: malformed edgekit metadata ({exc}); re-export the model") from None
        for key, values, expected in ((CLASS_NAMES, meta.class_names, "one name per logit"),
                                      (CHANNELS, meta.channels, "one name per input channel")):
            if not values:
                raise EdgekitError(f"{where}: {key} is empty; expected {expected}; re-export the model")
        return meta

    def feature_spec(self) -> dict[str, Any]:
        return json.loads(self.feature_spec_json)


def _check_spec_json(text: str | None, where: str) -> None:
    """The stored feature spec is a JSON object, checked on reading so the error names the model
    file; whoever parses it later (the stream's bridge) would only know the JSON."""
    if text is None:
        return  # reported with the other missing keys
    try:
        ok = isinstance(json.loads(text), dict)
    except ValueError as exc:
        raise EdgekitError(f"{where}: {FEATURE_SPEC} is not valid JSON ({exc}); expected the FeatureSpec JSON "
                           "the model was exported with: re-export the model") from None
    if not ok:
        raise EdgekitError(f"{where}: {FEATURE_SPEC} is not a JSON object; expected the FeatureSpec JSON the model "
                           "was exported with: re-export the model")


def load_model_proto(path: str | Path):
    """`onnx.load` with one-line `EdgekitError`s for a missing or unreadable file."""
    import onnx

    path = Path(path)
    if not path.is_file():
        raise EdgekitError(f"{path}: no such model file")
    try:
        return onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf's DecodeError and friends: the bytes are not an ONNX model
        raise EdgekitError(f"{path}: not a readable ONNX model ({type(exc).__name__}: {_first_line(exc)})") from None


def read_props(path: str | Path) -> dict[str, str]:
    return _props(load_model_proto(path), path)


def _props(proto, path: str | Path) -> dict[str, str]:
    if not proto.graph.node:
        raise EdgekitError(f"{path}: not a readable ONNX model (empty graph)")
    return {p.key: p.value for p in proto.metadata_props}


def read_metadata(path: str | Path) -> ModelMetadata:
    """The edgekit metadata of an ONNX file; a clear one-line error for missing, corrupt or foreign
    files, and for class names that do not match the graph's logits (a prediction would index past them)."""
    proto = load_model_proto(path)
    meta = ModelMetadata.from_props(_props(proto, path), where=str(path))
    logits = next((o for o in proto.graph.output if meta.outputs and o.name == meta.outputs[0]), None)
    dims = logits.type.tensor_type.shape.dim if logits is not None else ()
    if dims and dims[-1].dim_value > 0 and dims[-1].dim_value != len(meta.class_names):  # 0: a symbolic size
        raise EdgekitError(f"{path}: the graph's {logits.name} output has {dims[-1].dim_value} logits but "
                           f"{CLASS_NAMES} names {len(meta.class_names)} classes; expected one name per logit; "
                           "re-export the model")
    return meta


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "no detail"


def check_siblings(path: str | Path, meta: ModelMetadata) -> None:
    """Refuse a model exported from another checkpoint than the files beside it with the same stem
    (`student.fp32.onnx`, `student.int8.onnx`, `student.step.int8.onnx`, ...): a stale file left by
    an older export would otherwise run without complaint next to the new ones."""
    path = Path(path)
    if not meta.checkpoint:
        return
    stem = path.name.split(".", 1)[0]
    for other in sorted(path.parent.glob(f"{stem}.*.onnx")):
        if other == path:
            continue
        try:
            theirs = read_props(other).get(CHECKPOINT, "")
        except EdgekitError:
            continue  # not an edgekit model: not a sibling
        if theirs and theirs != meta.checkpoint:
            raise EdgekitError(f"{path}: exported from checkpoint {meta.checkpoint} but {other.name} beside it comes "
                               f"from checkpoint {theirs}; the folder mixes exports of different trainings: "
                               "re-export the run into an empty folder (edgekit export RUN --out DIR)")
