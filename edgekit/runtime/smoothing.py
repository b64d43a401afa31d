"""Smoothing of successive predictions in a stream: exponential moving average or majority vote.

`--smooth ema:0.3` keeps `p ← 0.3 · p_new + 0.7 · p` over the probability vectors of the
predictions as they are emitted (every `hop` samples); `--smooth vote:5` takes the most frequent
class among the last 5 predictions (a tie goes to the class predicted most recently) with the mean
probability the model gave it over those predictions. Both restart with each sequence.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from edgekit.errors import EdgekitError

KINDS = ("ema", "vote")


@dataclass(frozen=True)
class SmoothingSpec:
    kind: str  # "ema" or "vote"
    value: float  # ema: weight of the newest prediction in (0, 1]; vote: window size >= 1

    @classmethod
    def parse(cls, text: str) -> "SmoothingSpec":
        kind, _, value = text.partition(":")
        kind = kind.strip().lower()
        try:
            number = float(value)
        except ValueError:
            number = float("nan")
        if kind == "ema" and 0.0 < number <= 1.0:
            return cls("ema", number)
        if kind == "vote" and number >= 1 and number == int(number):
            return cls("vote", int(number))
        raise EdgekitError(f"--smooth {text!r}: expected ema:ALPHA with 0 < ALPHA <= 1 (e.g. ema:0.3) or "
                           "vote:N with N >= 1 (e.g. vote:5)")

    def __str__(self) -> str:
        return f"{self.kind}:{self.value:g}"

    def make(self) -> "Smoother":
        return Ema(self.value) if self.kind == "ema" else Vote(int(self.value))


class Smoother:
    def reset(self) -> None:
        raise NotImplementedError

    def update(self, probs: np.ndarray) -> tuple[int, float]:
        """Add one prediction's probability vector; return the smoothed (class index, probability)."""
        raise NotImplementedError


class Ema(Smoother):
    def __init__(self, alpha: float):
        self.alpha = float(alpha)
        self.state: np.ndarray | None = None

    def reset(self) -> None:
        self.state = None

    def update(self, probs: np.ndarray) -> tuple[int, float]:
        probs = np.asarray(probs, dtype=np.float64)
        self.state = probs.copy() if self.state is None else self.alpha * probs + (1 - self.alpha) * self.state
        k = int(np.argmax(self.state))
        return k, float(self.state[k])


class Vote(Smoother):
    def __init__(self, size: int):
        self.history: deque[np.ndarray] = deque(maxlen=int(size))

    def reset(self) -> None:
        self.history.clear()

    def update(self, probs: np.ndarray) -> tuple[int, float]:
        self.history.append(np.asarray(probs, dtype=np.float64))
        votes = [int(np.argmax(p)) for p in self.history]
        counts = np.bincount(votes)
        tied = set(np.flatnonzero(counts == counts.max()).tolist())
        k = next(v for v in reversed(votes) if v in tied)
        return k, float(np.mean([p[k] for p in self.history]))
