"""Write edgekit's runtime facts into an ONNX file's `metadata_props` (keys: `edgekit.runtime.metadata`).

`ModelInfo` gathers what the run knows about a model (feature spec, classes, channels, window,
sample period); `model_metadata` turns it into the `ModelMetadata` of one exported file (its kind,
precision, I/O names and state shapes); `write_metadata` stores it. A quantized or converted file
gets its parent's metadata with the new precision (`copy_metadata`); one kept although it misses
its tolerance (`export --allow-drift`) says so in `edgekit.drift` (`mark_drift`). A graph with a
demographics input names its columns under `names.DEMOGRAPHICS_KEY`; that key describes the graph,
so it stays with the file through every rewrite and is copied to the files made from it.
"""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path
from typing import Sequence

import json

import onnx

from edgekit import __version__
from edgekit.export.names import DEMOGRAPHICS_KEY
from edgekit.export.precision import Precision
from edgekit.io import atomic_path
from edgekit.runtime.metadata import PREFIX, ModelInfo, ModelMetadata, read_metadata, read_props


def model_metadata(info: ModelInfo, *, kind: str, precision: Precision, inputs: Sequence[str],
                   outputs: Sequence[str], state_shapes: Sequence[Sequence[int]] = ()) -> ModelMetadata:
    run_facts = {f.name: getattr(info, f.name) for f in fields(ModelInfo)}
    return ModelMetadata(**run_facts, kind=kind, precision=Precision(precision).value, inputs=tuple(inputs),
                         outputs=tuple(outputs), state_shapes=tuple(tuple(int(d) for d in s) for s in state_shapes),
                         version=__version__)


def set_props(proto: onnx.ModelProto, meta: ModelMetadata,
              demographics: Sequence[str] | None = None) -> onnx.ModelProto:
    """Replace the edgekit keys of `proto.metadata_props` (other keys are kept); `demographics`
    names the demographics input's columns (None: keep what the file says)."""
    props = meta.to_props()
    old = {p.key: p.value for p in proto.metadata_props}
    if demographics is None and DEMOGRAPHICS_KEY in old:
        props[DEMOGRAPHICS_KEY] = old[DEMOGRAPHICS_KEY]
    elif demographics:
        props[DEMOGRAPHICS_KEY] = json.dumps(list(demographics))
    # all old edgekit keys go, so an optional key such as edgekit.drift cannot outlive its meaning
    kept = [(p.key, p.value) for p in proto.metadata_props if not p.key.startswith(PREFIX)]
    del proto.metadata_props[:]
    for key, value in kept + sorted(props.items()):
        proto.metadata_props.add(key=key, value=value)
    return proto


def write_metadata(path: str | Path, meta: ModelMetadata, demographics: Sequence[str] | None = None) -> None:
    """Store `meta` (and the demographics columns, see `set_props`) in the ONNX file at `path`
    (rewritten in place: call it on a temporary file)."""
    proto = onnx.load(str(path))
    onnx.save(set_props(proto, meta, demographics), str(path))


def demographics_columns(path: str | Path) -> tuple[str, ...]:
    """The columns of the file's demographics input; () when it has none."""
    return tuple(json.loads(read_props(path).get(DEMOGRAPHICS_KEY, "[]")))


def copy_metadata(src: str | Path, dst: str | Path, precision: Precision) -> ModelMetadata:
    """Give `dst` the metadata of `src` with `precision` (and no drift mark); return it."""
    meta = replace(read_metadata(src), precision=Precision(precision).value, drift="", version=__version__)
    write_metadata(dst, meta, demographics_columns(src))
    return meta


def mark_drift(path: str | Path, drift: str) -> ModelMetadata:
    """Record in the file at `path` (replaced atomically) which tolerance it misses."""
    meta = replace(read_metadata(path), drift=drift)
    proto = onnx.load(str(path))
    with atomic_path(path) as tmp:
        onnx.save(set_props(proto, meta), str(tmp))
    return meta
