"""A bounded libFuzzer run (clang, ASan + UBSan) over random configs and streams full of NaN, Inf,
huge and denormal values: zero findings allowed. EDGEKIT_FUZZ_SECONDS sets the length (60 s).
The number of samples pushed goes to build/bridge-tests/fuzz.json."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from edgekit.bridge import toolchain
from tests.tools import require_tool

SECONDS = int(os.environ.get("EDGEKIT_FUZZ_SECONDS", "60"))
REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_fuzz_bridge_finds_nothing(tmp_path):
    for tool in ("cmake", "clang"):
        require_tool(tool)
    require_tool("libFuzzer runtime", found=toolchain.libfuzzer_runtime() is not None)
    exe = toolchain.build_fuzzer(tmp_path / "build")
    status, log, samples = toolchain.run_fuzzer(exe, tmp_path / "corpus", SECONDS)
    out = REPO / "build" / "bridge-tests"
    out.mkdir(parents=True, exist_ok=True)
    (out / "fuzz.json").write_text(json.dumps({"seconds": SECONDS, "samples_pushed": samples, "exit_status": status}))
    assert status == 0, f"fuzzer finding:\n{log}"
    assert samples > 10_000, f"the fuzzer pushed only {samples} samples:\n{log}"
