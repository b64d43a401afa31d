"""`kill -9` during `edgekit export` leaves its temporaries only inside the export folder, and the
next export removes them: a real subprocess killed with SIGKILL mid-export, then the same command
again. No `tempfile` temporary lands in the system temp folder (TMPDIR points at an empty folder
we watch)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.slow


def _litter(out) -> list[str]:
    return sorted(p.name for p in out.iterdir() if p.name.endswith(".tmp") or p.name == ".edgekit-tmp")


def test_sigkill_mid_export_litter_is_cleaned_by_the_next_export(sim_export, tmp_path):
    run_dir, out, system_tmp = sim_export.folder.parent, tmp_path / "export", tmp_path / "system_tmp"
    system_tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(system_tmp)}
    command = [sys.executable, "-m", "edgekit", "export", str(run_dir), "--int8", "--out", str(out), "--json"]

    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not (out.is_dir() and _litter(out)) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    if proc.poll() is not None:
        pytest.fail(f"the export ended ({proc.returncode}) before its temporaries appeared")
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL
    assert _litter(out), "the kill should have left the export's scratch folder behind"

    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert _litter(out) == []
    # no tempfile folder or file of the export's (`tmp*`); a library's own session marker may be there
    assert [p.name for p in system_tmp.iterdir() if p.name.startswith("tmp")] == []
    assert (out / "student.int8.onnx").is_file()
