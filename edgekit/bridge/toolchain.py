"""Builds of the C bridge outside Python: host programs (gcc/clang, optionally with
AddressSanitizer + UBSan), Cortex-M4F ELFs (arm-none-eabi-gcc), QEMU runs, the flash/RAM
report, and CMake builds of the libraries for `edgekit bridge build`.

Direct compiler calls (not CMake) for the tests: one command per program, a second or two each.
The flags are the ones FIELD_NOTES.md records as working for QEMU's mps2-an386.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from edgekit.errors import EdgekitError

BRIDGE_DIR = Path(__file__).resolve().parents[2] / "firmware_bridge"
SOURCES = tuple(sorted((BRIDGE_DIR / "src").glob("*.c")))
INCLUDE = BRIDGE_DIR / "include"
GOLDEN = BRIDGE_DIR / "golden"
M4_DIR = BRIDGE_DIR / "targets" / "cortex-m4"
SPEED_FLAGS = ("-fno-trapping-math", "-fopenmp-simd", "-DEK_OPENMP_SIMD")  # see edgekit/bridge/build.py
C_FLAGS = ("-std=c99", "-O2", *SPEED_FLAGS, "-Wall", "-Wextra", "-Wshadow", "-Wdouble-promotion", "-Wconversion",
           "-Wno-sign-conversion")
M4_FLAGS = ("-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-ffunction-sections",
            "-fdata-sections")
M4_LINK = ("--specs=rdimon.specs", "-nostartfiles", f"-T{M4_DIR / 'mps2_an386.ld'}", "-Wl,--gc-sections")
SANITIZE = ("-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-g")
QEMU = ("qemu-system-arm", "-M", "mps2-an386", "-nographic", "-semihosting")
CROSS_PACKAGES = "gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm"


class ToolchainError(EdgekitError):
    """A compiler, emulator or build step is missing or failed."""


def which(tool: str) -> str | None:
    return shutil.which(tool)


def require(tool: str, package: str) -> str:
    path = which(tool)
    if path is None:
        raise ToolchainError(f"{tool} not found; install it with `apt-get install {package}`")
    return path


def _run(cmd: list[str], what: str, timeout: float = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise ToolchainError(f"{what} failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout}{proc.stderr}")
    return proc


def build_host_golden(out_dir: Path | str, *, sanitize: bool = False, compiler: str = "gcc") -> Path:
    """The golden-vector test program for this machine; with `sanitize`, under ASan + UBSan."""
    cc = require(compiler, "gcc" if compiler == "gcc" else compiler)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    exe = out / ("test_golden_asan" if sanitize else "test_golden")
    cmd = [cc, *C_FLAGS, "-Werror", *(SANITIZE if sanitize else ()), f"-I{INCLUDE}", f"-I{GOLDEN}",
           str(BRIDGE_DIR / "tests" / "test_golden.c"), str(BRIDGE_DIR / "tests" / "golden_data.S"),
           *map(str, SOURCES), "-lm", "-o", str(exe)]
    _run(cmd, "host golden build")
    return exe


def build_m4_golden(out_dir: Path | str) -> Path:
    cc = require("arm-none-eabi-gcc", "gcc-arm-none-eabi libnewlib-arm-none-eabi")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    elf = out / "test_golden_m4.elf"
    cmd = [cc, *M4_FLAGS, *C_FLAGS, "-DEK_GOLDEN_NO_MAIN", f"-I{INCLUDE}", f"-I{GOLDEN}",
           str(M4_DIR / "startup.c"), str(M4_DIR / "main_golden.c"), str(BRIDGE_DIR / "tests" / "test_golden.c"),
           str(BRIDGE_DIR / "tests" / "golden_data.S"), *map(str, SOURCES), *M4_LINK, "-lm", "-o", str(elf)]
    _run(cmd, "Cortex-M4F golden build")
    return elf


def run_qemu(elf: Path | str, timeout_s: float = 120, icount: bool = False) -> subprocess.CompletedProcess:
    """Run an ELF on the emulated mps2-an386 (Cortex-M4F); main's return value is the exit status."""
    require("qemu-system-arm", "qemu-system-arm")
    cmd = ["timeout", str(int(timeout_s)), *QEMU, *(("-icount", "shift=0") if icount else ()), "-kernel", str(elf)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s + 30)


@dataclass
class SizeReport:
    """Cortex-M4F footprint of the bridge for the default spec (FeatureSpec.cmi_default())."""

    spec_hash: str
    flash_bytes: int  # text + data the bridge adds to a program: code, its libm, the spec's config
    library_text_bytes: int  # all of libedgekit_bridge's objects (every family), without libm
    library_data_bytes: int
    ram_state_bytes: int  # sizeof(ek_bridge_t) on the M4
    ram_workspace_bytes: int  # EK_SPEC_CMI_WORKSPACE_WORDS * 4
    stack_bytes_push: int  # ek_bridge_push's deepest frame chain (gcc -fstack-usage), 0 if unknown
    optimisation: str

    @property
    def ram_per_stream_bytes(self) -> int:
        return self.ram_state_bytes + self.ram_workspace_bytes

    def as_dict(self) -> dict:
        return {**asdict(self), "ram_per_stream_bytes": self.ram_per_stream_bytes}


def _size(elf: Path) -> tuple[int, int, int]:
    out = _run([require("arm-none-eabi-size", "binutils-arm-none-eabi"), "-A", str(elf)], "arm-none-eabi-size").stdout
    sections = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\.\S+)\s+(\d+)", out, re.M)}
    text = sum(v for k, v in sections.items() if k in (".isr_vector", ".text", ".ARM.exidx", ".ARM.extab",
                                                       ".preinit_array", ".init_array", ".fini_array"))
    return text, sections.get(".data", 0), sections.get(".bss", 0)


def _symbol_sizes(elf: Path) -> dict[str, int]:
    out = _run([require("arm-none-eabi-nm", "binutils-arm-none-eabi"), "-S", "--size-sort", str(elf)], "nm").stdout
    sizes = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4:
            sizes[parts[3]] = int(parts[1], 16)
    return sizes


def m4_size_report(out_dir: Path | str, optimisation: str = "-O2") -> SizeReport:
    """Flash and RAM of the bridge on Cortex-M4F, measured by linking a probe program with and
    without the bridge (same startup and newlib) and by the probe's state/workspace symbols."""
    cc = require("arm-none-eabi-gcc", "gcc-arm-none-eabi libnewlib-arm-none-eabi")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    flags = [*M4_FLAGS, "-std=c99", optimisation, *SPEED_FLAGS, f"-I{INCLUDE}", f"-I{GOLDEN}"]
    link = ["--specs=nano.specs", *M4_LINK, "-lm"]
    elves = {}
    for with_bridge in (0, 1):
        elf = out / f"size_probe_{with_bridge}.elf"
        srcs = [str(M4_DIR / "startup.c"), str(M4_DIR / "size_probe.c"), *(map(str, SOURCES) if with_bridge else ())]
        _run([cc, *flags, f"-DEK_PROBE_BRIDGE={with_bridge}", "-fstack-usage", *srcs, *link, "-o", str(elf)],
             "size probe build")
        elves[with_bridge] = elf
    base, probe = _size(elves[0]), _size(elves[1])
    symbols = _symbol_sizes(elves[1])
    objects = []
    for src in SOURCES:
        obj = out / (src.stem + ".o")
        _run([cc, *flags, "-c", str(src), "-o", str(obj)], "object build")
        objects.append(str(obj))
    lib = _run([require("arm-none-eabi-size", "binutils-arm-none-eabi"), "-t", *objects], "size").stdout.splitlines()[-1]
    lib_text, lib_data = (int(v) for v in lib.split()[:2])
    spec_hash = re.search(r'EK_SPEC_CMI_HASH "([0-9a-f]+)"', (GOLDEN / "ek_spec_cmi.h").read_text()).group(1)
    return SizeReport(
        spec_hash=spec_hash,
        flash_bytes=(probe[0] + probe[1]) - (base[0] + base[1]),
        library_text_bytes=lib_text, library_data_bytes=lib_data,
        ram_state_bytes=symbols.get("bridge", 0), ram_workspace_bytes=symbols.get("workspace", 0),
        stack_bytes_push=_stack_usage(Path.cwd(), out), optimisation=optimisation,
    )


def _stack_usage(*dirs: Path) -> int:
    """Sum of the static frames on push's call chain from gcc's .su files (no recursion)."""
    frames: dict[str, int] = {}
    for d in dirs:
        for su in d.glob("*.su"):
            for line in su.read_text().splitlines():
                m = re.match(r".*:(\w+)\s+(\d+)\s+\w+", line)
                if m:
                    frames[m.group(1)] = max(frames.get(m.group(1), 0), int(m.group(2)))
            su.unlink()
    chain = ("ek_bridge_push", "ek_sample_clean", "ek_windows_update")
    return frames.get(chain[0], 0) + max(frames.get(chain[1], 0), frames.get(chain[2], 0)) if frames else 0


def cmake_build(target: str, build_dir: Path | str) -> Path:
    """`cmake` configure + build of the libraries and test programs for `host` or `cortex-m4`."""
    cmake = require("cmake", "cmake")
    build = Path(build_dir)
    args = [cmake, "-S", str(BRIDGE_DIR), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release"]
    if target == "cortex-m4":
        require("arm-none-eabi-gcc", "gcc-arm-none-eabi libnewlib-arm-none-eabi")
        args.append(f"-DCMAKE_TOOLCHAIN_FILE={BRIDGE_DIR / 'cmake' / 'arm-none-eabi.cmake'}")
    elif target != "host":
        raise ToolchainError(f"target {target!r}; expected host or cortex-m4")
    _run(args, "cmake configure")
    _run([cmake, "--build", str(build), "-j", "4"], "cmake build", timeout=600)
    return build


def build_fuzzer(out_dir: Path | str) -> Path:
    """The libFuzzer harness (clang, with ASan + UBSan)."""
    clang = require("clang", "clang")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    exe = out / "fuzz_bridge"
    _run([clang, "-g", "-O1", "-std=c99", *SPEED_FLAGS, "-fsanitize=fuzzer,address,undefined", "-fno-sanitize-recover=all",
          f"-I{INCLUDE}", f"-I{GOLDEN}", str(BRIDGE_DIR / "fuzz" / "fuzz_bridge.c"), *map(str, SOURCES), "-lm",
          "-o", str(exe)], "libFuzzer build")
    return exe


def run_fuzzer(exe: Path | str, corpus: Path | str, seconds: int = 60) -> tuple[int, str, int]:
    """(exit status, log tail, samples pushed) of a bounded libFuzzer run."""
    Path(corpus).mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([str(exe), f"-max_total_time={seconds}", "-rss_limit_mb=2048", "-max_len=16384",
                           "-print_final_stats=1", f"-artifact_prefix={Path(corpus).parent}/", str(corpus)], capture_output=True, text=True,
                          timeout=seconds + 120)
    log = proc.stdout + proc.stderr
    m = re.search(r"fuzz_bridge: (\d+) samples pushed", log)
    return proc.returncode, log[-3000:], int(m.group(1)) if m else 0


def build_target(target: str, out_dir: Path | str, *, run: bool = False) -> dict:
    """What `edgekit bridge build` does: host = the Python extension (in place, when stale) plus the
    CMake host build (static + shared library, golden test); cortex-m4 = the CMake cross build of
    the library and the golden ELF, run under QEMU with `run`."""
    out = Path(out_dir)
    report: dict = {"target": target}
    if target == "host":
        from edgekit.bridge import build

        built = build.ensure_built()
        report["python_extension"] = str(built or build.installed_extensions()[0])
        report["python_extension_rebuilt"] = built is not None
        if which("cmake"):
            build_dir = cmake_build("host", out / "bridge-host")
            report["static_library"] = str(build_dir / "libedgekit_bridge.a")
            report["shared_library"] = str(build_dir / "libedgekit_bridge.so")
            exe = build_dir / "test_golden"
        else:
            exe = build_host_golden(out / "bridge-host")
        report["golden_test"] = str(exe)
        if run:
            proc = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)
            report.update(golden_exit_status=proc.returncode, golden_output=proc.stdout.strip().splitlines())
    elif target == "cortex-m4":
        if which("cmake"):
            build_dir = cmake_build("cortex-m4", out / "bridge-m4")
            report["static_library"] = str(build_dir / "libedgekit_bridge.a")
        elf = build_m4_golden(out / "bridge-m4")
        report["golden_elf"] = str(elf)
        if run:
            proc = run_qemu(elf)
            report.update(golden_exit_status=proc.returncode, golden_output=proc.stdout.strip().splitlines())
    else:
        raise ToolchainError(f"target {target!r}; expected host or cortex-m4")
    return report


def build_host_bench(out_dir: Path | str, *, debug_info: bool = False) -> Path:
    """The C micro-benchmark (firmware_bridge/bench/bench_bridge.c), -O2 like the M4 build."""
    cc = require("gcc", "gcc")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    exe = out / "bench_bridge"
    _run([cc, "-std=c99", "-O2", *SPEED_FLAGS, *(("-g",) if debug_info else ()), f"-I{INCLUDE}", f"-I{GOLDEN}",
          str(BRIDGE_DIR / "bench" / "bench_bridge.c"), str(BRIDGE_DIR / "tests" / "golden_data.S"),
          *map(str, SOURCES), "-lm", "-o", str(exe)], "benchmark build")
    return exe


def instructions_per_sample(exe: Path | str, small: int = 6400, large: int = 12800) -> float:
    """Instructions per pushed sample under valgrind --tool=callgrind: the difference of two runs
    of different lengths, which cancels start-up and init."""
    require("valgrind", "valgrind")
    counts = []
    for n in (small, large):
        proc = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", str(exe), str(n), "1"],
                              capture_output=True, text=True, timeout=600)
        m = re.search(r"refs:\s+([\d,]+)", proc.stderr)
        if proc.returncode != 0 or m is None:
            raise ToolchainError(f"callgrind run failed:\n{proc.stderr[-2000:]}")
        counts.append(int(m.group(1).replace(",", "")))
    return (counts[1] - counts[0]) / (large - small)
