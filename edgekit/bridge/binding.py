"""`Bridge`: the C feature bridge from Python (cffi, torch-free), for the runtime and for parity.

    bridge = Bridge(FeatureSpec.cmi_default(), handedness=0)
    features = bridge.push_block(samples)   # (n, n_inputs) float32 -> (n, n_features) float32

The extension's ABI version is checked when this module is imported; a mismatch (a stale
build against a newer header, or the reverse) fails with the command that rebuilds it.
"""

from __future__ import annotations

import numpy as np

from edgekit.bridge import config as cfgmod
from edgekit.errors import DataError, EdgekitError, SpecError
from edgekit.features.spec import FeatureSpec

try:
    from edgekit.bridge._ek_bridge import ffi, lib
except ImportError as exc:  # pragma: no cover - exercised only on a broken install
    raise ImportError(
        "edgekit's C feature bridge extension (edgekit.bridge._ek_bridge) is not built: reinstall with "
        "`pip install -e .` (needs a C compiler and cffi) or run `edgekit bridge build`") from exc

STATUS = {
    0: "ok", -1: "a NULL pointer", -2: "ABI version mismatch", -3: "input layout out of range",
    -4: "a parameter (dt, gravity, acc_scale, threshold) not positive and finite", -5: "unknown NaN policy or tilt source",
    -6: "invalid mirror plan", -7: "a signal these inputs lack", -8: "a window out of range or mismatched rings",
    -9: "a tracker index out of range", -10: "unknown output kind or wrong n_features", -11: "a DFT bin out of range",
    -12: "spec hash is not 16 hex digits", -13: "workspace too small or misaligned", -14: "handedness not 0 or 1",
}


class BridgeAbiError(EdgekitError):
    """The compiled extension and this Python package disagree on the C ABI."""


def _check_abi() -> None:
    found = int(lib.ek_abi_version())
    if found != cfgmod.ABI_VERSION or int(lib.EK_ABI_VERSION) != cfgmod.ABI_VERSION:
        raise BridgeAbiError(
            f"C bridge ABI version {found} (header {int(lib.EK_ABI_VERSION)}) but edgekit.bridge expects "
            f"{cfgmod.ABI_VERSION}: rebuild the extension with `pip install -e .` or `edgekit bridge build`")
    constants = {"EK_SIG_THM_1": cfgmod.SIG_THM_1, "EK_SIG_THM_1_MISSING": cfgmod.SIG_THM_1_MISSING,
                 "EK_SIG_TOF_1_MEAN": cfgmod.SIG_TOF_1_MEAN, "EK_SIG_EXTRA_1": cfgmod.SIG_EXTRA_1,
                 "EK_SIG_COUNT": cfgmod.SIG_COUNT, "EK_MAX_BINS": cfgmod.MAX_BINS}
    wrong = {k: (int(getattr(lib, k)), v) for k, v in constants.items() if int(getattr(lib, k)) != v}
    if wrong:
        raise BridgeAbiError(f"C bridge constants differ from edgekit.bridge.config (C, Python): {wrong}")


_check_abi()


def source_digest() -> str:
    """Digest of the C sources the extension was compiled from (see build.source_digest)."""
    return ffi.string(lib.ek_source_digest()).decode()


class CConfig:
    """A `BridgeConfig` in C memory; keeps every array it points to alive."""

    def __init__(self, bc: cfgmod.BridgeConfig) -> None:
        self.bc = bc
        self._keep: list = []
        c = self.ptr = ffi.new("ek_bridge_config_t *")
        c.abi_version = cfgmod.ABI_VERSION
        c.spec_hash = bc.spec_hash.encode()
        c.nan_policy = cfgmod.NAN_HOLD_LAST
        c.tilt_source = bc.tilt_source
        c.has_rot, c.has_gyro = bc.has_rot, bc.has_gyro
        c.n_thm, c.n_tof_sensors, c.n_extra = bc.n_thm, bc.n_tof_sensors, bc.n_extra
        c.n_inputs, c.n_features = bc.n_inputs, bc.n_features
        c.sample_period_s, c.gravity, c.acc_scale = bc.sample_period_s, bc.gravity, bc.acc_scale
        c.stationary_threshold = bc.stationary_threshold
        m = bc.mirror
        c.mirror.enabled = m.enabled
        c.mirror.acc_sign, c.mirror.rot_sign, c.mirror.gyro_sign = list(m.acc_sign), list(m.rot_sign), list(m.gyro_sign)
        c.mirror.thm_source, c.mirror.tof_source = list(m.thm_source), list(m.tof_source)
        c.mirror.tof_flip_columns = m.tof_flip_columns
        c.rings, c.n_rings = self._array("ek_ring_config_t", [{"signal": s, "capacity": w} for s, w in bc.rings])
        c.prev_signals, c.n_prev = self._array("uint16_t", list(bc.prev_signals))
        c.moments, c.n_moments = self._array("ek_moments_config_t", [{"ring": r} for r in bc.moments])
        c.extrema, c.n_extrema = self._array("ek_extremum_config_t", [{"ring": r, "is_max": m} for r, m in bc.extrema])
        c.energy, c.n_energy = self._array("ek_energy_config_t", [{"ring": r} for r in bc.energy])
        c.zcr, c.n_zcr = self._array("ek_zcr_config_t", [{"prev": p, "window": w} for p, w in bc.zcr])
        c.corr, c.n_corr = self._array("ek_corr_config_t", [{"ring_a": a, "ring_b": b} for a, b in bc.corr])
        c.dft, c.n_dft = self._array("ek_dft_config_t", [{"ring": r, "n_bins": len(b), "bins": list(b)}
                                                         for r, b in bc.dft])
        c.medians, c.n_medians = self._array("ek_median_config_t", [{"ring": r} for r in bc.medians])
        c.spectra, c.n_spectra = self._array("ek_spectrum_config_t", [{"ring": r} for r in bc.spectra])
        c.bands, c.n_bands = self._array("ek_band_config_t", [{"spectrum": s, "first_bin": a, "last_bin": b}
                                                             for s, a, b in bc.bands])
        c.outputs, _ = self._array("ek_output_t", [{"kind": k, "bin": b, "index": i} for k, b, i in bc.outputs])

    def _array(self, ctype: str, items: list):
        if not items:
            return ffi.NULL, 0
        arr = ffi.new(f"{ctype}[]", items)
        self._keep.append(arr)
        return arr, len(items)

    def check(self) -> int:
        return int(lib.ek_bridge_config_check(self.ptr))


class Bridge:
    """One stream of the C bridge for `spec`; `handedness` 0 mirrors a left-handed wearer when
    the spec says so. Inputs in `spec.input_columns()` order, outputs in `spec.names()` order."""

    def __init__(self, spec: FeatureSpec, handedness: int = 1) -> None:
        if handedness not in (0, 1):
            raise DataError(f"handedness {handedness!r}; expected 0 (left) or 1 (right)")
        self.spec = spec
        self.handedness = int(handedness)
        self.config = CConfig(cfgmod.bridge_config(spec))
        self.n_inputs = self.config.bc.n_inputs
        self.n_features = self.config.bc.n_features
        self.names = spec.names()
        words = int(lib.ek_bridge_workspace_words(self.config.ptr))
        if words == 0:
            raise SpecError(f"the C bridge refused the config of spec {spec.hash()}: "
                            f"{STATUS.get(self.config.check(), self.config.check())}")
        self.workspace_words = words
        self._workspace = ffi.new("ek_word_t[]", words)
        self._state = ffi.new("ek_bridge_t *")
        status = int(lib.ek_bridge_init(self._state, self.config.ptr, self.handedness, self._workspace,
                                        words * ffi.sizeof("ek_word_t")))
        if status != 0:
            raise SpecError(f"ek_bridge_init refused spec {spec.hash()}: {STATUS.get(status, status)}")
        self._out = np.zeros(self.n_features, dtype=np.float32)

    @property
    def spec_hash(self) -> str:
        return ffi.string(lib.ek_bridge_spec_hash(self._state)).decode()

    @property
    def state_bytes(self) -> int:
        """Host RAM of this stream: the state struct plus its workspace."""
        return int(ffi.sizeof("ek_bridge_t")) + 4 * self.workspace_words

    def reset(self) -> None:
        lib.ek_bridge_reset(self._state)

    def push(self, sample) -> np.ndarray:
        x = np.ascontiguousarray(sample, dtype=np.float32)
        if x.shape != (self.n_inputs,):
            raise DataError(f"sample has shape {x.shape}; expected ({self.n_inputs},) in spec.input_columns() order")
        out = np.empty(self.n_features, dtype=np.float32)
        lib.ek_bridge_push(self._state, ffi.from_buffer("float[]", x), ffi.from_buffer("float[]", out))
        return out

    def push_block(self, samples) -> np.ndarray:
        """(n, n_inputs) -> (n, n_features) float32 with one C call."""
        x = np.ascontiguousarray(samples, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.n_inputs:
            raise DataError(f"samples have shape {x.shape}; expected (n, {self.n_inputs}) in spec.input_columns() order")
        out = np.empty((x.shape[0], self.n_features), dtype=np.float32)
        if x.shape[0]:
            lib.ek_bridge_push_block(self._state, ffi.from_buffer("float[]", x), x.shape[0],
                                     ffi.from_buffer("float[]", out))
        return out
