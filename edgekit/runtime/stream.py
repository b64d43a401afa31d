"""Streaming inference: raw samples → C feature bridge → model, one sample at a time (torch-free).

    streamer = Streamer("student.step.fp32.onnx", StreamOptions(hop=16))
    summary = streamer.run(read_samples(path, streamer.input_columns, streamer.sample_period_s),
                           on_prediction=..., on_issue=...)

The model's metadata picks the mode:
- a **window** model (`edgekit.kind = window`) keeps a ring buffer of the last `window_length`
  feature rows and runs on it every `hop` samples (on fewer rows while the sequence is shorter:
  the exported graph takes any length), which is the offline prediction on the same window;
- a **step** model (`kind = step`) runs once per sample on that sample's features and its state
  (O(1) work per sample); its logits at sample t are the offline causal forward over samples 0..t.
Predictions are emitted every `hop` samples (`window_length // 4` by default) and at the end of
each stream (`final=True`); smoothing (`smoothing.py`) acts on the emitted predictions. A new
stream (a new value of the stream column, `sequence_id` or `subject` by default, or a gap-restart
segment; see `sources.py`) resets the bridge and the model state.

A window model trained with per-sequence demographics takes them once per stream
(`Streamer(..., demographics={"age": 12, ...})`, the CLI's `--demographics k=v,...`); every key the
model names is required, unknown keys are refused.

The bridge is built from the feature spec stored in the model; the model's recorded spec hash must
equal the hash the bridge computes (a spec from an older or newer edgekit, or a `spec=` override
for the device's own bridge, is refused naming both). Latency is measured per sample from the
sample entering the bridge to the model's output being ready (parsing and printing excluded).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping

import numpy as np

from edgekit.errors import EdgekitError
from edgekit.numeric import distribution, softmax
from edgekit.runtime.metadata import RAW_SPEC_PREFIX, ModelMetadata, read_metadata
from edgekit.runtime.session import ModelSession, check_spec_hash
from edgekit.runtime.smoothing import SmoothingSpec
from edgekit.runtime.sources import Event, Issue, Sample


@dataclass(frozen=True)
class StreamOptions:
    hop: int | None = None  # samples between emitted predictions; None: max(1, window_length // 4)
    smoothing: SmoothingSpec | None = None
    threads: int = 1


@dataclass
class Prediction:
    sequence: str
    sample: int  # index of the sample within its sequence (0-based, filled samples counted)
    line: int
    time_s: float | None
    class_index: int
    label: str
    probability: float
    logits: np.ndarray
    final: bool = False
    smoothed_index: int | None = None
    smoothed_label: str | None = None
    smoothed_probability: float | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["logits"] = [float(v) for v in self.logits]
        return d


@dataclass
class StreamSummary:
    model: str
    mode: str  # window | step
    precision: str
    hop: int
    smoothing: str | None
    samples: int = 0  # samples through the bridge (filled ones included)
    filled_samples: int = 0
    nan_samples: int = 0  # samples with at least one NaN input (handled by the NaN policy)
    sequences: int = 0  # streams
    stream_column: str = ""  # the column whose values are the streams ("" for one stream)
    model_runs: int = 0
    predictions: int = 0
    issues: dict[str, int] = field(default_factory=dict)
    latency_us: dict[str, float] = field(default_factory=dict)
    finals: list[dict] = field(default_factory=list)  # per sequence: {sequence, label, probability, samples}
    wall_s: float = 0.0
    drift: str | None = None  # the model was exported with --allow-drift: the tolerance it misses

    def to_dict(self) -> dict:
        return asdict(self)


def bridge_for(meta: ModelMetadata, where: str, spec=None, handedness: int = 1):
    """The C bridge for the model's features (or for `spec`, the device's own), hash-checked."""
    from edgekit.bridge.binding import Bridge
    from edgekit.features import FeatureSpec

    if meta.feature_spec_hash.startswith(RAW_SPEC_PREFIX):
        raise EdgekitError(f"{where}: the model was trained on raw channels, not on a FeatureSpec; the stream "
                           "computes features with the C bridge, so it needs a model trained on features")
    if spec is None:
        spec = FeatureSpec.from_json(meta.feature_spec_json)
    bridge = Bridge(spec, handedness)
    check_spec_hash(meta, bridge.spec_hash, where)
    return bridge


def parse_demographics(text: str) -> dict[str, float]:
    """`"age=12,sex=1,height_cm=150"` → `{"age": 12.0, ...}` (the `--demographics` syntax)."""
    values: dict[str, float] = {}
    for item in (part.strip() for part in text.split(",")):
        key, sep, value = (s.strip() for s in item.partition("="))
        if not sep or not key:
            raise EdgekitError(f"--demographics: {item!r} is not KEY=VALUE; expected e.g. age=12,sex=1,height_cm=150")
        if key in values:
            raise EdgekitError(f"--demographics: {key} is given twice; expected each key once")
        try:
            number = float(value)
        except ValueError:
            number = float("nan")
        if not np.isfinite(number):
            raise EdgekitError(f"--demographics: {key}={value!r}; expected a finite number")
        values[key] = number
    return values


def wearer_hand(handedness: int | None, demographics: Mapping[str, float] | None) -> int:
    """The bridge's hand: `handedness` as given, else the demographics' (one fact, given once), else right."""
    hand = (demographics or {}).get("handedness")
    if hand is not None and hand not in (0, 1):
        raise EdgekitError(f"--demographics: handedness={hand:g}; expected 0 (left) or 1 (right)")
    if handedness is not None and hand is not None and int(hand) != handedness:
        raise EdgekitError(f"--handedness {handedness} but --demographics handedness={hand:g}; expected the same hand "
                           "(or give it once)")
    return handedness if handedness is not None else int(hand) if hand is not None else 1


def demographics_vector(columns: tuple[str, ...], given: Mapping[str, float] | None, where: str) -> np.ndarray | None:
    """`(1, D)` raw demographics in the model's column order; None for a model that takes none."""
    if not columns:
        if given:
            raise EdgekitError(f"{where}: the model takes no demographics, but --demographics gives "
                               f"{', '.join(given)}; remove --demographics")
        return None
    given = dict(given or {})
    unknown = [k for k in given if k not in columns]
    if unknown:
        raise EdgekitError(f"{where}: unknown demographics {', '.join(unknown)}; the model expects "
                           f"{', '.join(columns)}")
    missing = [c for c in columns if c not in given]
    if missing:
        raise EdgekitError(f"{where}: the model takes demographics; missing {', '.join(missing)}: pass "
                           f"--demographics {','.join(f'{c}=...' for c in columns)}")
    return np.array([[given[c] for c in columns]], dtype=np.float32)


class Streamer:
    """One model, one stream at a time; `push` a sample, `finish` a sequence, or `run` an event stream."""

    def __init__(self, model: str | Path, options: StreamOptions = StreamOptions(), *, spec=None,
                 handedness: int = 1, demographics: Mapping[str, float] | None = None):
        self.path = Path(model)
        self.options = options
        self.meta = read_metadata(self.path)
        self._spec_override = spec
        self._bridges = {handedness: bridge_for(self.meta, str(self.path), spec, handedness)}
        self.bridge = self._bridges[handedness]
        self.session = ModelSession(self.path, expected_spec_hash=self.bridge.spec_hash, threads=options.threads)
        self.demographics = demographics_vector(self.session.demographics, demographics, str(self.path))
        self._run_inputs = {} if self.demographics is None else {"demographics": self.demographics}
        missing = [c for c in self.meta.channels if c not in self.bridge.names]
        if missing:
            raise EdgekitError(f"{self.path}: model channels {missing[:5]} are not features the bridge computes")
        self._channels = np.array([self.bridge.names.index(c) for c in self.meta.channels])
        self._identity = bool(np.array_equal(self._channels, np.arange(len(self.bridge.names))))
        self.window = max(1, int(self.meta.window_length))
        self.hop = int(options.hop) if options.hop else max(1, self.window // 4)
        if self.hop < 1:
            raise EdgekitError(f"--hop {options.hop}: expected a positive number of samples")
        self.step_mode = self.session.is_step_model
        self.smoother = options.smoothing.make() if options.smoothing else None
        self.class_names = self.meta.class_names
        self._ring = np.zeros((self.window, len(self.meta.channels)), dtype=np.float32)
        self._key: tuple[str, int] | None = None
        self.model_runs = 0
        self._smoothed: tuple[int, float] = (0, 0.0)
        self.issues: list[Issue] = []  # what push/finish skipped (non-finite logits); `run` reports them
        self._reset_stream()

    # --- facts the caller needs to read its input ------------------------------------------------
    @property
    def input_columns(self) -> tuple[str, ...]:
        return self.bridge.spec.input_columns()

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(self.bridge.spec.inputs.acc)

    @property
    def sample_period_s(self) -> float:
        return float(self.bridge.spec.sample_period_s)

    @property
    def mode(self) -> str:
        return "step" if self.step_mode else "window"

    # --- the stream ----------------------------------------------------------------------------
    def _reset_stream(self) -> None:
        self.bridge.reset()
        self._count = 0  # samples in this stream
        self._state = self.session.init_state(1) if self.step_mode else None
        self._logits: np.ndarray | None = None  # the latest model output
        self._logits_at = -1  # the sample count it belongs to
        self._last: Sample | None = None
        if self.smoother is not None:
            self.smoother.reset()

    def _select_bridge(self, handedness: int | None) -> None:
        hand = self.bridge.handedness if handedness is None else handedness
        if hand != self.bridge.handedness:
            if hand not in self._bridges:
                self._bridges[hand] = bridge_for(self.meta, str(self.path), self._spec_override, hand)
            self.bridge = self._bridges[hand]

    def push(self, sample: Sample) -> tuple[Prediction | None, int]:
        """Feed one sample; returns (prediction if one is due, nanoseconds spent on this sample)."""
        start = time.perf_counter_ns()
        feats = self.bridge.push(sample.values)
        if not self._identity:
            feats = feats[self._channels]
        if self.step_mode:
            logits, self._state = self.session.step(feats[None], self._state)
            self._logits, self._logits_at = logits[0], self._count + 1
            self.model_runs += 1
        else:
            self._ring[self._count % self.window] = feats
        self._count += 1
        due = self._count % self.hop == 0
        if due and not self.step_mode:
            self._run_window()
        elapsed = time.perf_counter_ns() - start
        self._last = sample
        return (self._emit(sample, final=False) if due else None), elapsed

    def _run_window(self) -> None:
        n = min(self._count, self.window)
        end = self._count % self.window
        window = self._ring[:n] if self._count <= self.window else np.concatenate(
            [self._ring[end:], self._ring[:end]])
        self._logits, self._logits_at = self.session.run(window[None], **self._run_inputs)[0], self._count
        self.model_runs += 1

    def finish(self) -> Prediction | None:
        """End the current stream: the prediction over its last samples (`final=True`)."""
        if self._count == 0 or self._last is None:
            return None
        if self._logits_at != self._count:
            self._run_window()
        return self._emit(self._last, final=True)

    def _emit(self, sample: Sample, final: bool) -> Prediction | None:
        logits = np.asarray(self._logits, dtype=np.float32)
        if not np.isfinite(logits).all():  # never a NaN probability: skip this prediction and say so
            self.issues.append(Issue(sample.line, "non_finite_logits", f"sequence {sample.sequence} sample "
                                     f"{self._count - 1}: the model gave non-finite logits; no prediction",
                                     sample.where))
            return None
        probs = softmax(logits.astype(np.float64))
        k = int(np.argmax(probs))
        pred = Prediction(sample.sequence, self._count - 1, sample.line, sample.time_s, k, self.class_names[k],
                          float(probs[k]), logits, final)
        if self.smoother is not None:
            if not (final and self._count % self.hop == 0):  # the last hop's prediction was already added
                s_k, s_p = self.smoother.update(probs)
                self._smoothed = (s_k, s_p)
            pred.smoothed_index, pred.smoothed_probability = self._smoothed
            pred.smoothed_label = self.class_names[self._smoothed[0]]
        return pred

    def run(self, events: Iterable[Event], *, on_prediction: Callable[[Prediction], None] | None = None,
            on_issue: Callable[[Issue], None] | None = None) -> StreamSummary:
        """Stream every event; callbacks see predictions and issues as they occur."""
        from edgekit.features.spec import out_of_range

        emit = on_prediction or (lambda p: None)
        report = on_issue or (lambda i: None)
        summary = StreamSummary(model=str(self.path), mode=self.mode, precision=self.meta.precision, hop=self.hop,
                                smoothing=str(self.options.smoothing) if self.options.smoothing else None,
                                drift=self.meta.drift or None)
        latencies: list[int] = []
        runs_before = self.model_runs
        started = time.perf_counter()

        def report_pending() -> None:  # out-of-range inputs, predictions push/finish skipped
            for issue in self.issues:
                summary.issues[issue.kind] = summary.issues.get(issue.kind, 0) + 1
                report(issue)
            self.issues.clear()

        def close() -> None:
            pred = self.finish()
            report_pending()
            if pred is not None:
                summary.predictions += 1
                summary.finals.append({"sequence": pred.sequence, "label": pred.label,
                                       "probability": round(pred.probability, 6), "samples": self._count,
                                       **({"smoothed_label": pred.smoothed_label} if pred.smoothed_label else {})})
                emit(pred)

        for event in events:
            if isinstance(event, Issue):
                summary.issues[event.kind] = summary.issues.get(event.kind, 0) + 1
                report(event)
                continue
            key = (event.sequence, event.segment)
            if key != self._key:
                if self._key is not None:
                    close()
                self._key = key
                summary.stream_column = event.stream_column
                self._select_bridge(event.handedness)
                self._reset_stream()
                summary.sequences += 1
            pred, ns = self.push(event)
            latencies.append(ns)
            summary.samples += 1
            summary.filled_samples += int(event.filled)
            summary.nan_samples += int(not event.filled and bool(np.isnan(event.values).any()))
            outside = out_of_range(self.bridge.spec.inputs, event.values)
            if outside.any():  # the bridge treats them as missing; a corrupt source should show itself
                shown = ", ".join(f"{c}={v:g}" for c, v in list(zip(np.array(self.input_columns)[outside],
                                                                    event.values[outside]))[:4])
                self.issues.append(Issue(event.line, "out_of_range", f"sequence {event.sequence}: {shown} outside "
                                         "the sensor's physical range; treated as missing", event.where))
            report_pending()
            if pred is not None:
                summary.predictions += 1
                emit(pred)
        if self._key is not None:
            close()
            self._key = None
        summary.model_runs = self.model_runs - runs_before
        summary.latency_us = distribution(np.asarray(latencies, dtype=np.float64) / 1e3, digits=2)
        summary.wall_s = round(time.perf_counter() - started, 3)
        return summary
