"""Packed sequences and their three phases.

All sequences live back to back in one set of row arrays ("packed"), so every per-sample step is
one vectorised numpy call over ~575 K rows instead of a Python loop over 8 K sequences. The few
computations that must run forward in time (quaternion integration, thermal lag) step through
time once, updating every sequence that is still running at that step (`Layout.steps`).

A sequence is: behaviour "Relaxes and moves hand to target location" (the hand travels to the
target), "Hand at target location" (a short pause), then "Performs gesture"; the first two are
phase Transition, the last phase Gesture.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from edgekit.data import cmi_schema as cs
from edgekit.data.simulator.config import SimConfig

# The three behaviours a simulated sequence goes through, in time order, and the phase of each
# (cmi_schema also lists "Moves hand to target location", which only the real data uses).
SIM_BEHAVIORS: tuple[str, ...] = cs.BEHAVIORS[:3]
PHASE_OF_BEHAVIOR: tuple[str, ...] = (cs.PHASES[0], cs.PHASES[0], cs.PHASES[1])


@dataclass(frozen=True)
class Layout:
    """Where each sequence's rows sit in the packed arrays."""

    lengths: np.ndarray  # (N,) rows per sequence
    offsets: np.ndarray  # (N,) first row of each sequence
    seq_of_row: np.ndarray  # (R,) sequence index of each row
    t_of_row: np.ndarray  # (R,) 0..T-1 within the sequence

    @classmethod
    def from_lengths(cls, lengths: np.ndarray) -> "Layout":
        lengths = np.asarray(lengths, dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        seq_of_row = np.repeat(np.arange(len(lengths)), lengths)
        t_of_row = np.arange(int(lengths.sum())) - offsets[seq_of_row]
        return cls(lengths, offsets, seq_of_row, t_of_row)

    @property
    def n_rows(self) -> int:
        return len(self.seq_of_row)

    def steps(self) -> Iterator[np.ndarray]:
        """For t = 1, 2, ...: the packed rows at t-1 of every sequence longer than t.

        Row t of those sequences is the yielded array + 1. Sequences are visited longest first so
        the running set at step t is a prefix of one sorted offsets array (no mask per step).
        """
        order = np.argsort(-self.lengths, kind="stable")
        sorted_offsets = self.offsets[order]
        sorted_lengths = self.lengths[order]
        # running[t] = number of sequences with length > t
        running = np.searchsorted(-sorted_lengths, -np.arange(int(sorted_lengths.max(initial=0))), side="left")
        for t in range(1, len(running)):
            yield sorted_offsets[: running[t]] + (t - 1)

    def edge_masks(self) -> tuple[np.ndarray, np.ndarray]:
        """Boolean (R,) masks of each sequence's first and last row."""
        first = self.t_of_row == 0
        last = self.t_of_row == self.lengths[self.seq_of_row] - 1
        return first, last


@dataclass(frozen=True)
class Phases:
    """Per-sequence phase boundaries (rows) and per-row phase codes."""

    move_rows: np.ndarray  # (N,) rows of "Relaxes and moves hand to target location"
    pause_rows: np.ndarray  # (N,) rows of "Hand at target location"
    behavior_of_row: np.ndarray  # (R,) int8 index into SIM_BEHAVIORS

    def gesture_start(self) -> np.ndarray:
        return self.move_rows + self.pause_rows


def sample_lengths(rng: np.random.Generator, n: int, gesture_scale: np.ndarray, config: SimConfig) -> np.ndarray:
    """Log-normal lengths (long right tail, like the competition's 29..700, mean ~70 rows)."""
    raw = config.median_length * gesture_scale * np.exp(config.length_sigma * rng.standard_normal(n))
    return np.clip(np.round(raw), config.min_length, config.max_length).astype(np.int64)


def split_phases(rng: np.random.Generator, layout: Layout) -> Phases:
    """Split each sequence into move / pause / gesture; the gesture keeps at least ~40 % of it."""
    n = len(layout.lengths)
    lengths = layout.lengths
    move = np.maximum(8, np.round(lengths * rng.uniform(0.35, 0.48, n))).astype(np.int64)
    pause = np.maximum(2, np.round(lengths * rng.uniform(0.06, 0.12, n))).astype(np.int64)
    t = layout.t_of_row
    seq = layout.seq_of_row
    behavior = np.where(t < move[seq], 0, np.where(t < move[seq] + pause[seq], 1, 2)).astype(np.int8)
    return Phases(move, pause, behavior)
