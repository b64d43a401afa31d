"""Builds of the C bridge outside Python, all through CMake: `firmware_bridge/CMakeLists.txt` and
its `CMakePresets.json` are the one description of the C build (sources and flags in
`build.json`, shared with the Python extension's cffi builder). This module picks a preset and
the targets, runs `cmake --build` into a folder the caller names (never into the sources, which
may be an installed package), runs programs under QEMU and valgrind, and measures the
Cortex-M4F footprint.

    host       golden-vector test, static + shared library, benchmark
    asan       golden-vector test under AddressSanitizer + UBSan
    cortex-m4  golden ELF, size probes, gcc's .su stack files
    fuzz       libFuzzer harness (clang)
    bench      host benchmark with -g
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from edgekit.errors import EdgekitError
from edgekit.resources import bridge_dir

# What provides each tool on Debian/Ubuntu; .ci/run installs all of them.
APT_PACKAGES = {
    "cmake": "cmake",
    "gcc": "gcc",
    "clang": "clang",
    "libFuzzer runtime": "libclang-rt-dev (or libclang-rt-<clang major>-dev)",
    "arm-none-eabi-gcc": "gcc-arm-none-eabi libnewlib-arm-none-eabi",
    "arm-none-eabi-size": "binutils-arm-none-eabi",
    "arm-none-eabi-nm": "binutils-arm-none-eabi",
    "qemu-system-arm": "qemu-system-arm",
    "valgrind": "valgrind",
}
PRESETS = ("host", "asan", "cortex-m4", "fuzz", "bench")
QEMU = ("qemu-system-arm", "-M", "mps2-an386", "-nographic", "-semihosting")


class ToolchainError(EdgekitError):
    """A compiler, emulator or build step is missing or failed."""


def which(tool: str) -> str | None:
    return shutil.which(tool)


def install_hint(tool: str) -> str:
    return f"apt-get install {APT_PACKAGES.get(tool, tool)}"


def require(tool: str) -> str:
    path = which(tool)
    if path is None:
        raise ToolchainError(f"{tool} not found; install it with `{install_hint(tool)}`")
    return path


def libfuzzer_runtime() -> Path | None:
    """clang's libFuzzer runtime (compiler-rt's libclang_rt.fuzzer), or None: clang alone links
    no fuzzer, and Debian ships the runtime in a separate package."""
    if which("clang") is None:
        return None
    proc = subprocess.run(["clang", "--print-runtime-dir"], capture_output=True, text=True)
    runtime_dir = Path(proc.stdout.strip())
    # the old layout (lib/linux/, clang <= 15 on Debian) names the architecture, the per-target one not
    for name in (f"libclang_rt.fuzzer-{platform.machine()}.a", "libclang_rt.fuzzer.a"):
        if proc.returncode == 0 and (runtime_dir / name).is_file():
            return runtime_dir / name
    return None


def _run(cmd: list[str], what: str, timeout: float = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise ToolchainError(f"{what} failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout}{proc.stderr}")
    return proc


def cmake_build(preset: str, build_dir: Path | str, *, targets: tuple[str, ...] = (),
                options: dict[str, str] | None = None) -> Path:
    """Configure `build_dir` with a preset of firmware_bridge/CMakePresets.json (plus `options`
    as -D cache variables) and build `targets` (all when empty); returns the absolute build dir."""
    if preset not in PRESETS:
        raise ToolchainError(f"CMake preset {preset!r}; expected one of {', '.join(PRESETS)}")
    cmake = require("cmake")
    if preset == "cortex-m4":
        require("arm-none-eabi-gcc")
    if preset == "fuzz":
        require("clang")
        if libfuzzer_runtime() is None:
            raise ToolchainError(f"clang has no libFuzzer runtime (libclang_rt.fuzzer); install it with "
                                 f"`{install_hint('libFuzzer runtime')}`")
    build = Path(build_dir).resolve()
    defines = [f"-D{key}={value}" for key, value in (options or {}).items()]
    _run([cmake, "--preset", preset, "-S", str(bridge_dir()), "-B", str(build), *defines],
         f"cmake configure ({preset})")
    _run([cmake, "--build", str(build), "--parallel", str(os.cpu_count() or 1),
          *(("--target", *targets) if targets else ())], f"cmake build ({preset})", timeout=600)
    return build


def build_host_golden(out_dir: Path | str, *, sanitize: bool = False) -> Path:
    """The golden-vector test program for this machine; with `sanitize`, under ASan + UBSan."""
    return cmake_build("asan" if sanitize else "host", out_dir, targets=("test_golden",)) / "test_golden"


def build_m4_golden(out_dir: Path | str) -> Path:
    return cmake_build("cortex-m4", out_dir, targets=("test_golden.elf",)) / "test_golden.elf"


def build_fuzzer(out_dir: Path | str) -> Path:
    """The libFuzzer harness (clang, with ASan + UBSan)."""
    return cmake_build("fuzz", out_dir, targets=("fuzz_bridge",)) / "fuzz_bridge"


def build_host_bench(out_dir: Path | str) -> Path:
    """The C micro-benchmark (firmware_bridge/bench/bench_bridge.c), at build.json's optimisation
    level like the M4 build, with debug info."""
    return cmake_build("bench", out_dir, targets=("bench_bridge",)) / "bench_bridge"


def run_qemu(elf: Path | str, timeout_s: float = 120, icount: bool = False) -> subprocess.CompletedProcess:
    """Run an ELF on the emulated mps2-an386 (Cortex-M4F); main's return value is the exit status."""
    require("qemu-system-arm")
    cmd = ["timeout", str(int(timeout_s)), *QEMU, *(("-icount", "shift=0") if icount else ()), "-kernel", str(elf)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s + 30)


@dataclass
class SizeReport:
    """Cortex-M4F footprint of the bridge for one spec (by default FeatureSpec.cmi_default())."""

    spec_hash: str
    flash_bytes: int  # text + data the bridge adds to a program: code, its libm, the spec's config
    library_text_bytes: int  # all of libedgekit_bridge's objects (every family), without libm
    library_data_bytes: int
    ram_state_bytes: int  # sizeof(ek_bridge_t) on the M4
    ram_workspace_bytes: int  # EK_SPEC_CMI_WORKSPACE_WORDS * 4
    stack_bytes_push: int  # ek_bridge_push's deepest frame chain (gcc -fstack-usage), 0 if unknown
    optimisation: str
    build_dir: str  # where the probes were built

    @property
    def ram_per_stream_bytes(self) -> int:
        return self.ram_state_bytes + self.ram_workspace_bytes

    def as_dict(self) -> dict:
        return {**asdict(self), "ram_per_stream_bytes": self.ram_per_stream_bytes}


def _size(elf: Path) -> tuple[int, int, int]:
    out = _run([require("arm-none-eabi-size"), "-A", str(elf)], "arm-none-eabi-size").stdout
    sections = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\.\S+)\s+(\d+)", out, re.M)}
    text = sum(v for k, v in sections.items() if k in (".isr_vector", ".text", ".ARM.exidx", ".ARM.extab",
                                                       ".preinit_array", ".init_array", ".fini_array"))
    return text, sections.get(".data", 0), sections.get(".bss", 0)


def _symbol_sizes(elf: Path) -> dict[str, int]:
    out = _run([require("arm-none-eabi-nm"), "-S", "--size-sort", str(elf)], "nm").stdout
    sizes = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4:
            sizes[parts[3]] = int(parts[1], 16)
    return sizes


def m4_size_report(out_dir: Path | str, optimisation: str = "-O2", spec=None) -> SizeReport:
    """Flash and RAM of the bridge configured for `spec` (a FeatureSpec, by default
    FeatureSpec.cmi_default()) on Cortex-M4F, measured by linking a probe program with and
    without the bridge (same startup and newlib) and by the probe's state/workspace symbols."""
    from edgekit.bridge.config import generate_header
    from edgekit.features import FeatureSpec

    spec = spec if spec is not None else FeatureSpec.cmi_default()
    # size_probe.c includes "ek_spec_cmi.h" from golden/; the spec's own header under that name in
    # EK_PROBE_SPEC_DIR (searched first) makes the same probe measure any spec, in the one CMake build
    probe_spec = Path(out_dir).resolve() / "probe_spec"
    probe_spec.mkdir(parents=True, exist_ok=True)
    (probe_spec / "ek_spec_cmi.h").write_text(generate_header(spec, "cmi"))
    build = cmake_build("cortex-m4", out_dir, targets=("size_probe.elf", "size_probe_base.elf", "edgekit_bridge"),
                        options={"EK_OPTIMISATION": optimisation, "EK_PROBE_SPEC_DIR": probe_spec.as_posix()})
    base, probe = _size(build / "size_probe_base.elf"), _size(build / "size_probe.elf")
    symbols = _symbol_sizes(build / "size_probe.elf")
    totals = _run([require("arm-none-eabi-size"), "-t", str(build / "libedgekit_bridge.a")], "size").stdout
    lib_text, lib_data = (int(v) for v in totals.splitlines()[-1].split()[:2])
    return SizeReport(
        spec_hash=spec.hash(),
        flash_bytes=(probe[0] + probe[1]) - (base[0] + base[1]),
        library_text_bytes=lib_text, library_data_bytes=lib_data,
        ram_state_bytes=symbols.get("bridge", 0), ram_workspace_bytes=symbols.get("workspace", 0),
        stack_bytes_push=_stack_usage(build), optimisation=optimisation, build_dir=str(build),
    )


def _stack_usage(build: Path) -> int:
    """Sum of the static frames on push's call chain from the library's .su files (no recursion)."""
    frames: dict[str, int] = {}
    for su in (build / "CMakeFiles" / "edgekit_bridge.dir").rglob("*.su"):
        for line in su.read_text().splitlines():
            m = re.match(r".*:(\w+)\s+(\d+)\s+\w+", line)
            if m:
                frames[m.group(1)] = max(frames.get(m.group(1), 0), int(m.group(2)))
    chain = ("ek_bridge_push", "ek_sample_clean", "ek_windows_update")
    return frames.get(chain[0], 0) + max(frames.get(chain[1], 0), frames.get(chain[2], 0)) if frames else 0


def run_fuzzer(exe: Path | str, corpus: Path | str, seconds: int = 60) -> tuple[int, str, int]:
    """(exit status, log tail, samples pushed) of a bounded libFuzzer run."""
    Path(corpus).mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([str(exe), f"-max_total_time={seconds}", "-rss_limit_mb=2048", "-max_len=16384",
                           "-print_final_stats=1", f"-artifact_prefix={Path(corpus).parent}/", str(corpus)],
                          capture_output=True, text=True, timeout=seconds + 120)
    log = proc.stdout + proc.stderr
    m = re.search(r"fuzz_bridge: (\d+) samples pushed", log)
    return proc.returncode, log[-3000:], int(m.group(1)) if m else 0


def build_target(target: str, out_dir: Path | str, *, run: bool = False) -> dict:
    """What `edgekit bridge build` does: host = the Python extension (rebuilt in place when stale,
    in a source checkout only) plus the CMake host build (static + shared library, golden test);
    cortex-m4 = the CMake cross build of the library and the golden ELF, run under QEMU with `run`.
    Everything CMake writes goes under `out_dir` (bridge-host/ or bridge-m4/)."""
    report: dict = {"target": target}
    if target == "host":
        from edgekit.bridge import build

        built = build.ensure_built()
        installed = build.installed_extensions()
        report["python_extension"] = str(built or (installed[0] if installed else "missing"))
        report["python_extension_rebuilt"] = built is not None
        build_dir = cmake_build("host", Path(out_dir) / "bridge-host")
        report["build_dir"] = str(build_dir)
        report["static_library"] = str(build_dir / "libedgekit_bridge.a")
        report["shared_library"] = str(build_dir / "libedgekit_bridge.so")
        report["golden_test"] = str(build_dir / "test_golden")
        if run:
            proc = subprocess.run([report["golden_test"]], capture_output=True, text=True, timeout=120)
            report.update(golden_exit_status=proc.returncode, golden_output=proc.stdout.strip().splitlines())
    elif target == "cortex-m4":
        build_dir = cmake_build("cortex-m4", Path(out_dir) / "bridge-m4")
        report["build_dir"] = str(build_dir)
        report["static_library"] = str(build_dir / "libedgekit_bridge.a")
        report["golden_elf"] = str(build_dir / "test_golden.elf")
        if run:
            proc = run_qemu(report["golden_elf"])
            report.update(golden_exit_status=proc.returncode, golden_output=proc.stdout.strip().splitlines())
    else:
        raise ToolchainError(f"target {target!r}; expected host or cortex-m4")
    return report


def instructions_per_sample(exe: Path | str, small: int = 6400, large: int = 12800) -> float:
    """Instructions per pushed sample under valgrind --tool=callgrind: the difference of two runs
    of different lengths, which cancels start-up and init."""
    valgrind = require("valgrind")
    counts = []
    for n in (small, large):
        proc = subprocess.run([valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", str(exe), str(n), "1"],
                              capture_output=True, text=True, timeout=600)
        m = re.search(r"refs:\s+([\d,]+)", proc.stderr)
        if proc.returncode != 0 or m is None:
            raise ToolchainError(f"callgrind run failed:\n{proc.stderr[-2000:]}")
        counts.append(int(m.group(1).replace(",", "")))
    return (counts[1] - counts[0]) / (large - small)
