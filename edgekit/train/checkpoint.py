"""Per-epoch training checkpoints: written atomically, read back with `weights_only=True`.

A checkpoint is a plain dict of tensors, numbers, strings and lists (model, optimizer and EMA
state dicts, the completed epoch, the global step, the history), so `torch.load(...,
weights_only=True)` can read it: loading a checkpoint never runs pickled code. The write goes to a
temporary file that is renamed over the old checkpoint, so a `kill -9` at any moment leaves
either the previous epoch's checkpoint or this one, never a torn file.

Resuming reproduces an uninterrupted run exactly because nothing else carries state across
epochs: the loop reseeds torch and the batch order from `(seed, epoch)` at each epoch start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from edgekit.errors import EdgekitError
from edgekit.io import atomic_path

CHECKPOINT_NAME = "checkpoint.pt"
FORMAT = 1


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    with atomic_path(path) as tmp:
        torch.save({"format": FORMAT, **state}, tmp)


def load_checkpoint(path: Path) -> dict[str, Any] | None:
    """The checkpoint at `path`, or None when there is none."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a file that is not a checkpoint: say which, do not guess
        raise EdgekitError(f"{path}: not a readable edgekit checkpoint ({exc}); delete it to start this stage over") from None
    if state.get("format") != FORMAT:
        raise EdgekitError(f"{path}: checkpoint format {state.get('format')!r}; this edgekit reads format {FORMAT}")
    return state
