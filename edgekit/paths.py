"""Output paths checked before the work starts, so a command that could not write its result says
so at once (naming the flag) instead of after minutes of data preparation or training.

The check probes the filesystem rather than trusting `os.access` or the mode bits: root passes
every permission test, and a read-only mount or a full quota does not show in them. It creates and
removes one empty file in the nearest folder that already exists and creates nothing else, so a
refused (or later failing) command leaves no empty folders behind.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from edgekit.errors import EdgekitError


def ensure_writable_dir(path: str | os.PathLike, flag: str) -> Path:
    """`path` (a folder, made later by the command) can be created and written; else an EdgekitError."""
    path = Path(path)
    if _exists(path, flag, path) and not path.is_dir():
        raise EdgekitError(f"{flag} {path}: is a file; expected a folder to write into")
    _probe(path, flag, path)
    return path


def ensure_writable_file(path: str | os.PathLike, flag: str) -> Path:
    """The file `path` can be written (its folder created if missing); else an EdgekitError."""
    path = Path(path)
    if _exists(path, flag, path) and path.is_dir():
        raise EdgekitError(f"{flag} {path}: is a folder; expected a file name to write")
    _probe(path.parent, flag, path)
    return path


def _exists(path: Path, flag: str, given: Path) -> bool:
    try:
        return path.exists()
    except OSError as exc:  # e.g. a folder on the way that may not be searched
        raise EdgekitError(f"{flag} {given}: cannot look at {path} ({exc.strerror}); "
                           "expected a path in a folder you can write to") from None


def _probe(folder: Path, flag: str, given: Path) -> None:
    existing = folder
    while not _exists(existing, flag, given) and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise EdgekitError(f"{flag} {given}: {existing} is a file, so no folder can be made under it; "
                           "expected a path in a folder you can write to")
    try:
        fd, probe = tempfile.mkstemp(prefix=".edgekit-write-probe-", dir=existing)
    except OSError as exc:  # EACCES, EROFS, ENOSPC, EDQUOT: all mean the result could not be written
        raise EdgekitError(f"{flag} {given}: cannot write in {existing} ({exc.strerror}); "
                           "expected a path in a folder you can write to") from None
    os.close(fd)
    os.unlink(probe)
