"""Atomic writes: the final name appears only on success, with ordinary permissions."""

import os

import pytest

from edgekit.io import atomic_path, write_json_atomic


def test_failed_write_leaves_nothing(tmp_path):
    target = tmp_path / "model.onnx"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half a model")
            raise RuntimeError("interrupted")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_success_replaces_and_follows_umask(tmp_path):
    target = tmp_path / "report.json"
    target.write_text("old")
    old = os.umask(0o022)
    try:
        write_json_atomic(target, {"ok": True})
    finally:
        os.umask(old)
    assert target.read_text().strip().startswith("{")
    assert oct(target.stat().st_mode & 0o777) == oct(0o644)
