"""Temporary files of an export, kept inside its output folder and cleaned by the next export.

onnxruntime's quantization tools and the op census write temporary models through `tempfile`
with no folder argument, i.e. into the system temp dir, where an export killed with `kill -9`
leaves `tmp*` folders nobody removes. During an export `scratch_dir` points `tempfile` at
`OUT/.edgekit-tmp` instead (`tempfile.tempdir` is process-wide: an export is one thread's work),
and `clean_stale` removes that folder and the `.<file>.<random>.tmp` leftovers of atomic writes
(`edgekit.io.atomic_path`) that a killed export left next to its files. (So two exports into one
folder at the same time are not supported; they would overwrite each other's files anyway.)
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

SCRATCH = ".edgekit-tmp"
# what `atomic_path` leaves for the files an export writes (student.*.onnx/.engine, the report);
# only those: OUT may be any folder the user chose, holding temporaries that are not ours
STALE_PATTERNS = (".student.*.tmp", ".teachers.*.tmp", ".export_report.json.*.tmp")

log = logging.getLogger(__name__)


def clean_stale(out: Path) -> list[Path]:
    """Remove what an interrupted export left in `out`; returns the removed paths."""
    stale = [p for pattern in STALE_PATTERNS for p in out.glob(pattern) if p.is_file()]
    for path in stale:
        path.unlink(missing_ok=True)
    if (out / SCRATCH).is_dir():
        shutil.rmtree(out / SCRATCH, ignore_errors=True)
        stale.append(out / SCRATCH)
    if stale:
        log.info("removed what an interrupted export left in %s: %s", out, ", ".join(p.name for p in stale))
    return stale


@contextmanager
def scratch_dir(out: Path) -> Iterator[Path]:
    """Clean `out`'s stale temporaries, then send every `tempfile` temporary into `out/.edgekit-tmp`
    until the block ends (the folder is removed then, also on errors)."""
    clean_stale(out)
    folder = out / SCRATCH
    folder.mkdir(parents=True)
    previous = tempfile.tempdir
    tempfile.tempdir = str(folder)
    try:
        yield folder
    finally:
        tempfile.tempdir = previous
        shutil.rmtree(folder, ignore_errors=True)
