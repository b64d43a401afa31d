"""Golden vectors: committed, current, equal to the binding, and checked by the C test program on
the host, under AddressSanitizer + UBSan, and on Cortex-M4F under QEMU (mps2-an386)."""

from __future__ import annotations

import re
import subprocess

import numpy as np

from edgekit.bridge import Bridge, toolchain
from edgekit.bridge.golden import committed_golden_dir, decode_case, encode_case, golden_cases
from tests.tools import require_tool


def test_committed_vectors_are_current_and_small():
    total = 0
    golden = committed_golden_dir()
    for case in golden_cases():
        committed = (golden / f"{case.name}.bin").read_bytes()
        assert committed == encode_case(case), (f"golden/{case.name}.bin differs from the reference's output: "
                                                "run `edgekit bridge golden --out firmware_bridge/golden`")
        total += len(committed) + (golden / f"ek_spec_{case.name}.h").stat().st_size
    assert total < 300_000, f"golden vectors are {total} bytes; keep them under ~300 KB"


def test_binding_reproduces_golden_vectors():
    for case in golden_cases():
        data = decode_case((committed_golden_dir() / f"{case.name}.bin").read_bytes())
        assert data["spec_hash"] == case.spec.hash()
        for hand, x, expected in data["segments"]:
            got = Bridge(case.spec, handedness=hand).push_block(x).astype(np.float64)
            tol = 1e-5 * np.maximum(1.0, np.abs(expected)) + data["slack"]
            bad = ~(np.abs(got - expected) <= tol)
            assert not bad.any(), f"{case.name}: {bad.sum()} values outside tolerance, first at {np.argwhere(bad)[0]}"


def _check_output(proc: subprocess.CompletedProcess, where: str) -> None:
    assert proc.returncode == 0, f"golden test failed on {where} ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    assert "GOLDEN OK" in proc.stdout
    for name in ("cmi", "uci", "kitchen"):
        assert f"{name}: " in proc.stdout and "0 failures" in proc.stdout


def test_host_golden_program(tmp_path):
    require_tool("cmake")
    exe = toolchain.build_host_golden(tmp_path)
    _check_output(subprocess.run([str(exe)], capture_output=True, text=True, timeout=120), "the host")


def test_golden_program_under_address_and_ub_sanitizers(tmp_path):
    require_tool("cmake")
    try:
        exe = toolchain.build_host_golden(tmp_path, sanitize=True)
    except toolchain.ToolchainError as err:
        if not re.search(r"cannot find \S*(asan|ubsan)", str(err)):  # only a missing runtime is a missing tool
            raise
        require_tool("ASan/UBSan runtime", found=False, install=f"the compiler's libasan and libubsan: {err}")
    proc = subprocess.run([str(exe)], capture_output=True, text=True, timeout=300,
                          env={"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=1", "UBSAN_OPTIONS": "print_stacktrace=1"})
    assert "runtime error" not in proc.stderr and "AddressSanitizer" not in proc.stderr, proc.stderr
    _check_output(proc, "the host with ASan + UBSan")


def test_cortex_m4f_golden_program_under_qemu(tmp_path):
    for tool in ("cmake", "arm-none-eabi-gcc", "qemu-system-arm"):
        require_tool(tool)
    elf = toolchain.build_m4_golden(tmp_path)
    proc = toolchain.run_qemu(elf, timeout_s=120)
    assert "FPU enabled" in proc.stdout, proc.stdout
    _check_output(proc, "Cortex-M4F (qemu mps2-an386)")
