"""Stage fingerprints: what each stage of a run directory was trained from.

A *stage* is a folder that one training fills: a teacher fold (`teachers/<member>/fold<k>/`) or
the student (`student/`). Its *inputs* are a nested dict of everything its files depend on, keyed
like the recipe so that a difference names a recipe key: the data identity (`seed`, the recipe's
`data.*` plus `data.train_ids_digest` / `data.test_ids_digest`), the features (`features.*` plus
`features.spec_hash`), the scaler (`scaler.digest`), the stage's own config sections
(`teachers.members.<i>`, `train.*`, `distill.*`, `student.*`, `device.amp`) and, for the student,
`teachers.fingerprint`. Its *fingerprint* is the first 16 hex digits of the SHA-256 of the
canonical JSON of the inputs (sorted keys, no whitespace).

`stage.json` in the stage folder = {"stage", "fingerprint", "inputs"}, written before the stage's
first checkpoint, plus "model_sha256" once the stage has saved its `model.pt`. `model_fingerprint`
is what a later step (export) records as the origin of the files it makes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgekit.errors import EdgekitError
from edgekit.io import write_json_atomic

STAGE_FILE = "stage.json"
_UNSET = object()


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def plain(value: Any) -> Any:
    """`value` as it reads back from JSON (tuples → lists, enums → strings), so inputs compare
    and hash the same before and after a round trip through `stage.json`."""
    return json.loads(canonical_json(value))


def fingerprint(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()[:16]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted keys → leaf values; tables and lists of tables are walked (`teachers.members.0.name`),
    other lists are values."""
    if isinstance(tree, dict):
        items = tree.items()
    elif isinstance(tree, list) and tree and all(isinstance(v, dict) for v in tree):
        items = ((str(i), v) for i, v in enumerate(tree))
    else:
        return {prefix: tree}
    out: dict[str, Any] = {}
    for key, value in items:
        out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


@dataclass(frozen=True)
class Difference:
    key: str
    old: Any
    new: Any


def differences(old: dict, new: dict) -> list[Difference]:
    a, b = flatten(plain(old)), flatten(plain(new))
    return [Difference(k, a.get(k, _UNSET), b.get(k, _UNSET)) for k in sorted(a.keys() | b.keys())
            if a.get(k, _UNSET) != b.get(k, _UNSET)]


def show(value: Any) -> str:
    if value is _UNSET:
        return "(unset)"
    if value is None:
        return "none"
    return value if isinstance(value, str) else json.dumps(value)


@dataclass(frozen=True)
class StageRecord:
    stage: str  # the folder relative to the run root: "student", "teachers/wavenet1d/fold0"
    inputs: dict
    model_sha256: str | None = None

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.inputs)


def read_stage(folder: Path) -> StageRecord | None:
    path = Path(folder) / STAGE_FILE
    if not path.exists():
        return None
    try:
        d = json.loads(path.read_text())
        return StageRecord(d["stage"], d["inputs"], d.get("model_sha256"))
    except (ValueError, KeyError, TypeError):
        return None  # unreadable: treated like a stage without a record


def write_stage(folder: Path, record: StageRecord) -> None:
    body = {"stage": record.stage, "fingerprint": record.fingerprint, "inputs": plain(record.inputs)}
    if record.model_sha256 is not None:
        body["model_sha256"] = record.model_sha256
    write_json_atomic(Path(folder) / STAGE_FILE, body)


def record_model(folder: Path) -> None:
    """Bind the just-saved `model.pt` to the stage's record (no-op for a folder without one)."""
    record = read_stage(folder)
    if record is not None:
        write_stage(folder, StageRecord(record.stage, record.inputs, file_sha256(Path(folder) / "model.pt")))


def exported_fingerprint(folder: Path) -> str:
    """What an export records as `edgekit.checkpoint`: the stage's fingerprint, checked against its
    `model.pt`; "" for a model folder made without `edgekit train` (no stage record at all)."""
    return model_fingerprint(folder) if read_stage(folder) is not None else ""


def model_fingerprint(folder: Path) -> str:
    """The fingerprint of the stage whose finished model is in `folder` (e.g. `RunDir.student`),
    checked against the `model.pt` that is there now."""
    folder = Path(folder)
    record = read_stage(folder)
    if record is None or record.model_sha256 is None:
        raise EdgekitError(f"{folder}: no finished model with a {STAGE_FILE} fingerprint (unfinished, or trained by "
                           "an older edgekit); train it again with `edgekit train`")
    if not (folder / "model.pt").exists() or file_sha256(folder / "model.pt") != record.model_sha256:
        raise EdgekitError(f"{folder}: model.pt is not the model its {STAGE_FILE} records (replaced after training?); "
                           "train it again with `edgekit train`")
    return record.fingerprint
