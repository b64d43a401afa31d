"""Training checkpoints, written at every evaluation point: atomically, read back with `weights_only=True`.

A checkpoint is a plain dict of tensors, numbers, strings and lists (model, optimizer and EMA
state dicts, the completed epoch, the global step, the history), so `torch.load(...,
weights_only=True)` can read it: loading a checkpoint never runs pickled code. The write goes to a
temporary file that is renamed over the old checkpoint, so a `kill -9` at any moment leaves
either the previous epoch's checkpoint or this one, never a torn file; a write that fails (a full
disk) keeps the previous one too and is one `EdgekitError` line. `read_torch_file` and
`write_torch_file` are the one way edgekit reads and writes torch files (checkpoints, `model.pt`).

Resuming reproduces an uninterrupted run exactly because nothing else carries state: the loop
reseeds torch and the batch order from `(seed, epoch)` at each epoch start, and a checkpoint
written inside an epoch (`train.eval_every_steps`) also holds the random generators' states, the
early-stopping tracker and the best weights so far.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from edgekit.errors import EdgekitError
from edgekit.io import atomic_path

FORMAT = 1


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    write_torch_file(path, {"format": FORMAT, **state}, "checkpoint",
                     "the previous epoch's checkpoint is kept: free some space and rerun with --resume")


def write_torch_file(path: Path, obj: Any, what: str, remedy: str) -> None:
    """`torch.save` through a temporary file renamed over `path`: a write that fails (a full disk
    or quota) leaves the previous file untouched and is an EdgekitError naming the file."""
    try:
        with atomic_path(path) as tmp:
            torch.save(obj, tmp)
    except OSError as exc:
        raise EdgekitError(f"could not write {what} {path}: {exc.strerror or exc}; {remedy}") from None
    except RuntimeError as exc:
        # torch's zip writer reports a failed write as "[enforce fail at inline_container.cc:...]
        # PytorchStreamWriter failed writing file data/0: file write failed"; nearly always a full disk
        if "PytorchStreamWriter" not in str(exc) and "inline_container" not in str(exc):
            raise  # anything else is a bug: keep its traceback
        raise EdgekitError(f"could not write {what} {path} (no space left on the device?): "
                           f"{_first_sentence(exc)}; {remedy}") from None


def read_torch_file(path: Path, remedy: str, map_location: str = "cpu") -> Any:
    """`torch.load(..., weights_only=True)` of a file edgekit wrote; an empty, truncated or foreign
    file is an EdgekitError naming it (torch says `EOFError`, or a miniz error about the zip's
    central directory, neither of which names the file)."""
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except OSError as exc:
        raise EdgekitError(f"{path}: cannot read it ({exc.strerror or exc}); {remedy}") from None
    except Exception as exc:  # EOFError, RuntimeError, UnpicklingError: the bytes are not a checkpoint
        detail = "the file is empty" if Path(path).stat().st_size == 0 else _first_sentence(exc)
        raise EdgekitError(f"{path}: truncated or not a PyTorch checkpoint ({detail}); {remedy}") from None


def _first_sentence(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if text.startswith("[enforce fail"):  # torch's "[enforce fail at file.cc:123] . " says nothing to a user
        text = text.split("] ", 1)[-1].lstrip(". ")
    return text.split(". ")[0].strip() or type(exc).__name__


def load_checkpoint(path: Path) -> dict[str, Any] | None:
    """The checkpoint at `path`, or None when there is none."""
    path = Path(path)
    if not path.exists():
        return None
    state = read_torch_file(path, "delete it to start this stage over")
    if state.get("format") != FORMAT:
        raise EdgekitError(f"{path}: checkpoint format {state.get('format')!r}; this edgekit reads format {FORMAT}")
    return state
