"""Golden vectors: committed, current, equal to the binding, and checked by the C test program on
the host, under AddressSanitizer + UBSan, and on Cortex-M4F under QEMU (mps2-an386)."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from edgekit.bridge import Bridge, toolchain
from edgekit.bridge.golden import GOLDEN_DIR, decode_case, encode_case, golden_cases

CROSS_MISSING = [t for t in ("arm-none-eabi-gcc", "qemu-system-arm") if toolchain.which(t) is None]


def test_committed_vectors_are_current_and_small():
    total = 0
    for case in golden_cases():
        committed = (GOLDEN_DIR / f"{case.name}.bin").read_bytes()
        assert committed == encode_case(case), (
            f"golden/{case.name}.bin differs from the reference's output: run `edgekit bridge golden`")
        total += len(committed) + (GOLDEN_DIR / f"ek_spec_{case.name}.h").stat().st_size
    assert total < 300_000, f"golden vectors are {total} bytes; keep them under ~300 KB"


def test_binding_reproduces_golden_vectors():
    for case in golden_cases():
        data = decode_case((GOLDEN_DIR / f"{case.name}.bin").read_bytes())
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


@pytest.mark.skipif(toolchain.which("gcc") is None, reason="gcc not installed")
def test_host_golden_program(tmp_path):
    exe = toolchain.build_host_golden(tmp_path)
    _check_output(subprocess.run([str(exe)], capture_output=True, text=True, timeout=120), "the host")


@pytest.mark.skipif(toolchain.which("gcc") is None, reason="gcc not installed")
def test_golden_program_under_address_and_ub_sanitizers(tmp_path):
    try:
        exe = toolchain.build_host_golden(tmp_path, sanitize=True)
    except toolchain.ToolchainError as err:
        pytest.skip(f"this gcc cannot build with -fsanitize=address,undefined: {err}")
    proc = subprocess.run([str(exe)], capture_output=True, text=True, timeout=300,
                          env={"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=1", "UBSAN_OPTIONS": "print_stacktrace=1"})
    assert "runtime error" not in proc.stderr and "AddressSanitizer" not in proc.stderr, proc.stderr
    _check_output(proc, "the host with ASan + UBSan")


@pytest.mark.skipif(bool(CROSS_MISSING), reason=f"{' and '.join(CROSS_MISSING)} not installed "
                    f"(apt-get install {toolchain.CROSS_PACKAGES})")
def test_cortex_m4f_golden_program_under_qemu(tmp_path):
    elf = toolchain.build_m4_golden(tmp_path)
    proc = toolchain.run_qemu(elf, timeout_s=120)
    assert "FPU enabled" in proc.stdout, proc.stdout
    _check_output(proc, "Cortex-M4F (qemu mps2-an386)")
