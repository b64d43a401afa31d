"""`ModelSession`: an onnxruntime session over an edgekit ONNX file, checked against its metadata.

Torch-free (the device host has onnxruntime and numpy only). The session reads the file's
`metadata_props` (`edgekit.runtime.metadata`), refuses a model whose feature-spec hash differs
from the one the caller's feature source computes (the C bridge or the Python reference), and
turns a missing, corrupt or foreign file into one `EdgekitError` line. A window model trained with
per-sequence demographics has a `demographics (batch, columns)` input (raw values; the columns are
`ModelSession.demographics`, from the file's metadata).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np

from edgekit.errors import EdgekitError
from edgekit.export import names
from edgekit.runtime.metadata import KIND_STEP, ModelMetadata, check_siblings, read_metadata

CPU_PROVIDER = "CPUExecutionProvider"


class SpecMismatchError(EdgekitError):
    """The model was trained on other features than the ones the caller computes."""


def check_spec_hash(meta: ModelMetadata, expected_hash: str, where: str) -> None:
    if meta.feature_spec_hash != expected_hash:
        raise SpecMismatchError(
            f"{where}: feature spec mismatch: the model expects features with spec hash "
            f"{meta.feature_spec_hash}, the feature source computes {expected_hash}; "
            "re-export the model or rebuild the bridge from the model's spec")


def make_session(path: str | Path, threads: int = 1, providers: Sequence[str] = (CPU_PROVIDER,)):
    """A plain onnxruntime session, single-threaded by default (steady latency on small models)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), options, providers=list(providers))
    except Exception as exc:  # ORT's Fail/InvalidGraph/NoSuchFile exceptions share no public base
        text = str(exc).strip().splitlines()
        raise EdgekitError(f"{path}: onnxruntime cannot load it ({text[0] if text else type(exc).__name__})") from None


class ModelSession:
    """Run an edgekit window or step model.

    `ModelSession(path, expected_spec_hash=bridge.spec_hash)`; `run(features)` for window models
    (`(B, T, C)` raw features → `(B, K)` logits); `init_state(batch)` and
    `step(features_t, state) -> (logits_t, next_state)` for step models.
    """

    def __init__(self, path: str | Path, expected_spec_hash: str | None = None, *, threads: int = 1,
                 providers: Sequence[str] = (CPU_PROVIDER,)):
        self.path = Path(path)
        self.metadata = read_metadata(self.path)
        check_siblings(self.path, self.metadata)
        if expected_spec_hash is not None:
            check_spec_hash(self.metadata, expected_spec_hash, str(self.path))
        self.session = make_session(self.path, threads, providers)
        graph_inputs = [i.name for i in self.session.get_inputs()]
        graph_outputs = [o.name for o in self.session.get_outputs()]
        if list(self.metadata.inputs) != graph_inputs or list(self.metadata.outputs) != graph_outputs:
            raise EdgekitError(f"{self.path}: metadata names inputs {list(self.metadata.inputs)} / outputs "
                               f"{list(self.metadata.outputs)} but the graph has {graph_inputs} / {graph_outputs}")
        custom = self.session.get_modelmeta().custom_metadata_map
        self.demographics: tuple[str, ...] = tuple(json.loads(custom.get(names.DEMOGRAPHICS_KEY, "[]")))
        if (names.DEMOGRAPHICS in graph_inputs) != bool(self.demographics):
            raise EdgekitError(f"{self.path}: the graph {'has' if names.DEMOGRAPHICS in graph_inputs else 'lacks'} a "
                               f"{names.DEMOGRAPHICS} input but its metadata names {len(self.demographics)} "
                               f"demographics columns ({names.DEMOGRAPHICS_KEY}); re-export the model")

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.metadata.class_names

    @property
    def is_step_model(self) -> bool:
        return self.metadata.kind == KIND_STEP

    def _check_channels(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        if x.shape[-1] != len(self.metadata.channels):
            raise EdgekitError(f"{self.path}: input has {x.shape[-1]} channels; the model expects "
                               f"{len(self.metadata.channels)} ({', '.join(self.metadata.channels[:4])}, ...)")
        return x

    def run(self, features: np.ndarray, mask: np.ndarray | None = None,
            demographics: np.ndarray | None = None) -> np.ndarray:
        """`(B, T, C)` raw features (and a `(B, T)` bool mask if the model takes one, `(B, D)` raw
        demographics in `self.demographics` order if it takes them) → `(B, K)` logits."""
        if self.is_step_model:
            raise EdgekitError(f"{self.path}: a step model; call step() one sample at a time")
        x = self._check_channels(features)
        if x.ndim != 3:
            raise EdgekitError(f"{self.path}: features must be (batch, time, channels), got shape {x.shape}")
        feeds = {self.metadata.inputs[0]: x}
        for name in self.metadata.inputs[1:]:
            if name == names.DEMOGRAPHICS:
                feeds[name] = self._check_demographics(demographics, len(x))
            else:  # the padding mask
                feeds[name] = np.ones(x.shape[:2], dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
        return self.session.run([self.metadata.outputs[0]], feeds)[0]

    def _check_demographics(self, demographics: np.ndarray | None, batch: int) -> np.ndarray:
        if demographics is None:
            raise EdgekitError(f"{self.path}: the model takes demographics ({', '.join(self.demographics)}); "
                               "none were given")
        d = np.asarray(demographics, dtype=np.float32)
        if d.shape != (batch, len(self.demographics)):
            raise EdgekitError(f"{self.path}: demographics have shape {d.shape}; expected ({batch}, "
                               f"{len(self.demographics)}): {', '.join(self.demographics)} per window")
        return d

    def init_state(self, batch_size: int = 1) -> list[np.ndarray]:
        return [np.zeros((batch_size, *shape), dtype=np.float32) for shape in self.metadata.state_shapes]

    def step(self, features_t: np.ndarray, state: Sequence[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        """One sample `(B, C)` and the state → `(logits_t (B, K), next_state)`."""
        if not self.is_step_model:
            raise EdgekitError(f"{self.path}: a window model; call run() on whole windows")
        x = self._check_channels(features_t)
        feeds = {self.metadata.inputs[0]: x}
        feeds.update(zip(self.metadata.inputs[1:], state))
        out = self.session.run(list(self.metadata.outputs), feeds)
        return out[0], list(out[1:])
