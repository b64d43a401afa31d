"""Every exported file records the checkpoint it came from, and the runtime refuses a model whose
sibling files (same stem, same folder) come from another checkpoint: a stale export left beside a
new one must not run without complaint."""

from __future__ import annotations

import shutil

import onnx
import pytest

from edgekit.errors import EdgekitError
from edgekit.runtime.metadata import CHECKPOINT, read_metadata
from edgekit.runtime.session import ModelSession


def _set_checkpoint(path, value: str) -> None:
    proto = onnx.load(path)
    for prop in proto.metadata_props:
        if prop.key == CHECKPOINT:
            prop.value = value
    onnx.save(proto, path)


def test_exports_record_their_checkpoint_and_stale_siblings_are_refused(sim_export, tmp_path):
    meta = read_metadata(sim_export.window)
    assert len(meta.checkpoint) == 16  # the student's stage fingerprint
    assert read_metadata(sim_export.int8).checkpoint == meta.checkpoint == read_metadata(sim_export.step).checkpoint

    folder = tmp_path / "export"
    folder.mkdir()
    for path in (sim_export.window, sim_export.step):
        shutil.copy(path, folder / path.name)
    ModelSession(folder / sim_export.window.name)  # siblings agree
    _set_checkpoint(folder / sim_export.step.name, "0123456789abcdef")  # an older training's step model
    with pytest.raises(EdgekitError, match="comes from checkpoint 0123456789abcdef"):
        ModelSession(folder / sim_export.window.name)
