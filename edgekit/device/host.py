"""The generated model on this machine: compiled with the host C compiler into a shared library
and called through ctypes (torch-free), to check it against ONNX Runtime bit for bit and to fuzz
it. The flags are the device build's that matter for exactness: C99, -O2, -ffp-contract=off."""

from __future__ import annotations

import ctypes
import subprocess
from pathlib import Path

import numpy as np

from edgekit.bridge.toolchain import ToolchainError, require
from edgekit.errors import EdgekitError

EXACT_FLAGS = ["-std=c99", "-O2", "-ffp-contract=off", "-fno-fast-math"]
MODEL_SOURCES = ["model/ek_kernels.c", "model/ek_model.c"]


def model_sources(package: Path, name: str) -> list[Path]:
    return [package / f"ek_model_{name}.c", *(package / s for s in MODEL_SOURCES)]


def build_shared(package: Path, name: str, out: Path) -> Path:
    """Shared library of a generated package's model for this machine. (The sanitizer build is the
    package's check program, `qemu.build(..., "asan")`: an ASan library cannot load into Python.)"""
    cc = require("gcc")
    Path(out).mkdir(parents=True, exist_ok=True)
    lib = Path(out) / f"libek_model_{name}.so"
    flags = [*EXACT_FLAGS, "-fPIC", "-shared", "-Wall", "-Wextra"]
    include = [f"-I{package}", f"-I{package / 'include'}", f"-I{package / 'model'}"]
    cmd = [cc, *flags, *include, *map(str, model_sources(package, name)), "-o", str(lib), "-lm"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ToolchainError(f"host build of the model failed: {' '.join(cmd)}\n{proc.stderr[-3000:]}")
    return lib


class _Model(ctypes.Structure):
    _fields_ = [("def_", ctypes.c_void_p), ("arena", ctypes.c_void_p), ("state", ctypes.c_void_p)]


class HostModel:
    """`HostModel(lib, name, n_inputs, n_classes, arena_bytes, state_bytes)`: step/run/reset."""

    def __init__(self, lib: Path, name: str, n_inputs: int, n_classes: int, arena_bytes: int, state_bytes: int):
        self.lib = ctypes.CDLL(str(lib))
        self.n_inputs, self.n_classes = n_inputs, n_classes
        self.arena = np.zeros(max(1, (arena_bytes + 3) // 4), np.uint32)
        self.state = np.zeros(max(1, (state_bytes + 3) // 4), np.uint32)
        self.model = _Model()
        definition = ctypes.c_void_p.in_dll(self.lib, f"ek_model_{name}")
        status = self.lib.ek_model_init(ctypes.byref(self.model), ctypes.byref(definition),
                                        self.arena.ctypes.data_as(ctypes.c_void_p), ctypes.c_size_t(self.arena.nbytes),
                                        self.state.ctypes.data_as(ctypes.c_void_p), ctypes.c_size_t(self.state.nbytes))
        if status != 0:
            raise EdgekitError(f"ek_model_init of {name} returned {status}")

    def reset(self) -> None:
        self.lib.ek_model_reset(ctypes.byref(self.model))

    def _call(self, fn, features: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(features, np.float32)
        logits = np.zeros(self.n_classes, np.float32)
        status = fn(ctypes.byref(self.model), x.ctypes.data_as(ctypes.c_void_p), logits.ctypes.data_as(ctypes.c_void_p))
        if status != 0:
            raise EdgekitError(f"the model returned status {status}")
        return logits

    def step(self, features: np.ndarray) -> np.ndarray:
        return self._call(self.lib.ek_model_step, features)

    def run(self, window: np.ndarray) -> np.ndarray:
        return self._call(self.lib.ek_model_run, window)

