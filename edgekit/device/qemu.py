"""Build a generated package with CMake (host, ASan + UBSan, or arm-none-eabi-gcc for the
Cortex-M4F) and run its check program: natively, or under `qemu-system-arm -M mps2-an386
-icount shift=0` through the bridge's `run_qemu`. The M4 build uses the package's copy of the
bridge's toolchain file (`cmake/arm-none-eabi.cmake`: -mcpu=cortex-m4 -mthumb -mfloat-abi=hard
-mfpu=fpv4-sp-d16, function/data sections) and build.json's flags, like the bridge's `cortex-m4`
preset; the startup file and linker script are the bridge's (`targets/cortex-m4/`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from edgekit.bridge.toolchain import ToolchainError, _size, _symbol_sizes, require, run_qemu

TARGETS = ("host", "asan", "cortex-m4")
# the generated model's constants (codegen.py's names): weights, biases, scales, tables, params
CONSTANT_SYMBOL = re.compile(r"^(conv\d+(_[wbs])?|table_\d+|fconst_\d+|qbin\d+|concat\d+)$")


@dataclass
class CheckRun:
    target: str
    status: int
    values: dict[str, float] = field(default_factory=dict)
    output: str = ""

    @property
    def ok(self) -> bool:
        return self.status == 0


def build(package: str | Path, build_dir: str | Path, target: str, vectors: str | Path | None = None,
          programs: tuple[str, ...] = ("ek_device_check",), profile: bool = False) -> Path:
    """Configure and build the package's check program (and `programs`) for `target`."""
    if target not in TARGETS:
        raise ToolchainError(f"device target {target!r}; expected one of {', '.join(TARGETS)}")
    cmake = require("cmake")
    package, out = Path(package).resolve(), Path(build_dir).resolve()
    cache = out / "CMakeCache.txt"
    if cache.exists() and f"CMAKE_HOME_DIRECTORY:INTERNAL={package}\n" not in cache.read_text(errors="replace"):
        cache.unlink()  # a build folder of another package: configure afresh
        shutil.rmtree(out / "CMakeFiles", ignore_errors=True)
    vector_dir = out / "vectors"
    vector_dir.mkdir(parents=True, exist_ok=True)
    bin_path = vector_dir / "ek_device_vectors.bin"
    if vectors is not None:
        shutil.copyfile(vectors, bin_path)
    elif not bin_path.exists():
        bin_path.write_bytes(b"")
    defines = {"EK_DEVICE_CHECK": "ON", "EK_DEVICE_VECTORS_DIR": str(vector_dir),
               "EK_MODEL_PROFILE": "ON" if profile else "OFF"}
    if target == "cortex-m4":
        require("arm-none-eabi-gcc")
        defines["CMAKE_TOOLCHAIN_FILE"] = str(package / "cmake" / "arm-none-eabi.cmake")
    if target == "asan":
        defines["EK_SANITIZE"] = "ON"
    _run([cmake, "-S", str(package), "-B", str(out), *(f"-D{k}={v}" for k, v in defines.items())],
         f"cmake configure ({target})")
    _run([cmake, "--build", str(out), "--parallel", str(os.cpu_count() or 1), "--target", *programs],
         f"cmake build ({target})")
    return out


def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise ToolchainError(f"{what} failed ({proc.returncode}): {' '.join(cmd)}\n"
                             f"{proc.stdout[-3000:]}{proc.stderr[-3000:]}")


def parse(output: str) -> dict[str, float]:
    values = {}
    for line in output.splitlines():
        m = re.fullmatch(r"([a-z_0-9]+) (-?\d+(?:\.\d+)?)", line.strip())
        if m:
            values[m.group(1)] = float(m.group(2))
    return values


def run_check(package: str | Path, build_dir: str | Path, target: str, vectors: str | Path,
              timeout_s: float = 300, profile: bool = False) -> CheckRun:
    """Build the check program against `vectors` and run it; its exit status is its mismatch count."""
    out = build(package, build_dir, target, vectors, profile=profile)
    if target == "cortex-m4":
        proc = run_qemu(out / "ek_device_check.elf", timeout_s=timeout_s, icount=True)
    else:
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:abort_on_error=0",
                   UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
        proc = subprocess.run([str(out / "ek_device_check")], capture_output=True, text=True, timeout=timeout_s,
                              env=env)
    text = proc.stdout + proc.stderr
    return CheckRun(target, proc.returncode, parse(proc.stdout), text[-4000:])


def flash_report(build_dir: str | Path) -> dict:
    """Cortex-M4F flash of the bridge and of the model (text + data differences of the probes), the
    model's constants (weights, biases, scales, tables: its symbols' sizes) and so its code."""
    out = Path(build_dir)
    base, bridge, model = (_size(out / f"ek_size_probe_{p}.elf") for p in ("base", "bridge", "model"))
    constants = sum(size for sym, size in _symbol_sizes(out / "ek_size_probe_model.elf").items()
                    if CONSTANT_SYMBOL.match(sym))
    model_flash = (model[0] + model[1]) - (bridge[0] + bridge[1])
    return {"bridge_flash_bytes": (bridge[0] + bridge[1]) - (base[0] + base[1]), "model_flash_bytes": model_flash,
            "model_constants_bytes": constants, "model_code_bytes": model_flash - constants}
