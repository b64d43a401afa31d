"""Atomic writes: the final name appears only on success, with ordinary permissions."""

import os
import stat

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



def _recording_fsync(monkeypatch, events: list, fail_on_dirs: bool = False) -> None:
    """Record what each `os.fsync` flushes (a directory or not, inode, size) and each `os.replace`."""
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        st = os.fstat(fd)
        events.append(("fsync", stat.S_ISDIR(st.st_mode), st.st_ino, st.st_size))
        if fail_on_dirs and stat.S_ISDIR(st.st_mode):
            raise OSError(22, "Invalid argument")  # as some file systems answer for a directory
        real_fsync(fd)

    def replace(src, dst):
        events.append(("replace",))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)


def test_data_and_rename_are_flushed_before_and_after_the_replace(tmp_path, monkeypatch):
    """fsync of the temporary file before `os.replace` (else a power loss can leave an empty file
    under the final name), then of the directory, so the rename itself survives."""
    target = tmp_path / "model.onnx"
    events: list = []
    _recording_fsync(monkeypatch, events)
    payload = b"x" * 100_000
    with atomic_path(target) as tmp:
        tmp.write_bytes(payload)
    assert [e[0] for e in events] == ["fsync", "replace", "fsync"], events
    assert events[0][1:] == (False, target.stat().st_ino, len(payload))  # the complete file (a rename keeps the inode)
    if os.name == "posix":
        assert events[2][1:3] == (True, tmp_path.stat().st_ino)  # then its directory
    assert target.read_bytes() == payload


def test_a_directory_that_cannot_be_fsynced_is_no_error(tmp_path, monkeypatch):
    events: list = []
    _recording_fsync(monkeypatch, events, fail_on_dirs=True)
    write_json_atomic(tmp_path / "r.json", {"ok": True})
    assert (tmp_path / "r.json").read_text() == '{\n  "ok": true\n}\n'
