"""cffi builder of the bridge's Python extension `edgekit.bridge._ek_bridge` (API mode).

Compiled when the package is built (`setup.py` names this file in `cffi_modules`), or in place by
`build_inplace()` / `edgekit bridge build` in a source checkout. The struct declarations end in
`...;` so cffi takes their layout from the real header at compile time: nothing here can drift
from `edgekit_bridge.h` silently. The sources, C standard, optimisation level and speed flags
come from `firmware_bridge/build.json`, which CMake reads too: one list for both builds.

Two ways this file runs: setuptools executes it at wheel build time (module name `__cffi__`,
from the project root, in an isolated environment where edgekit may not be importable), so it
finds the C sources relative to itself; imported at run time, it finds them where edgekit
ships them (`edgekit.resources.bridge_dir()`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from cffi import FFI

BUILD_TIME = __name__ == "__cffi__"


def _bridge_dir() -> Path:
    if BUILD_TIME:
        return Path(__file__).resolve().parents[2] / "firmware_bridge"
    from edgekit.resources import bridge_dir

    return bridge_dir()


def build_settings() -> dict:
    """firmware_bridge/build.json: sources (relative to firmware_bridge/), c_standard,
    optimisation, speed_flags, warnings."""
    return json.loads((_bridge_dir() / "build.json").read_text())


CDEF = """
#define EK_ABI_VERSION ...
#define EK_SIG_COUNT ...
#define EK_SIG_THM_1 ...
#define EK_SIG_THM_1_MISSING ...
#define EK_SIG_TOF_1_MEAN ...
#define EK_SIG_EXTRA_1 ...
#define EK_MAX_THM ...
#define EK_MAX_TOF_SENSORS ...
#define EK_MAX_EXTRA ...
#define EK_MAX_BINS ...
#define EK_OUT_KIND_END ...
typedef int32_t ek_status_t;
typedef union { float f; uint32_t u; ...; } ek_word_t;
typedef struct { uint8_t kind; uint8_t bin; uint16_t index; } ek_output_t;
typedef struct { uint16_t signal; uint16_t capacity; } ek_ring_config_t;
typedef struct { uint16_t ring; ...; } ek_moments_config_t;
typedef struct { uint16_t ring; uint16_t is_max; } ek_extremum_config_t;
typedef struct { uint16_t ring; ...; } ek_energy_config_t;
typedef struct { uint16_t prev; uint16_t window; } ek_zcr_config_t;
typedef struct { uint16_t ring_a; uint16_t ring_b; } ek_corr_config_t;
typedef struct { uint16_t ring; uint16_t n_bins; uint16_t bins[8]; } ek_dft_config_t;
typedef struct { uint16_t ring; ...; } ek_median_config_t;
typedef struct { uint16_t ring; ...; } ek_spectrum_config_t;
typedef struct { uint16_t spectrum; uint16_t first_bin; uint16_t last_bin; ...; } ek_band_config_t;
typedef struct {
    uint8_t enabled; int8_t acc_sign[3]; int8_t rot_sign[4]; int8_t gyro_sign[3];
    uint8_t thm_source[8]; uint8_t tof_source[5]; uint8_t tof_flip_columns;
} ek_mirror_t;
typedef struct {
    uint32_t abi_version; char spec_hash[17]; uint8_t nan_policy; uint8_t tilt_source;
    uint8_t has_rot; uint8_t has_gyro; uint8_t n_thm; uint8_t n_tof_sensors; uint8_t n_extra;
    uint16_t n_inputs; uint16_t n_features;
    float sample_period_s; float gravity; float acc_scale; float stationary_threshold;
    ek_mirror_t mirror;
    const ek_ring_config_t *rings; uint16_t n_rings;
    const uint16_t *prev_signals; uint16_t n_prev;
    const ek_moments_config_t *moments; uint16_t n_moments;
    const ek_extremum_config_t *extrema; uint16_t n_extrema;
    const ek_energy_config_t *energy; uint16_t n_energy;
    const ek_zcr_config_t *zcr; uint16_t n_zcr;
    const ek_corr_config_t *corr; uint16_t n_corr;
    const ek_dft_config_t *dft; uint16_t n_dft;
    const ek_median_config_t *medians; uint16_t n_medians;
    const ek_spectrum_config_t *spectra; uint16_t n_spectra;
    const ek_band_config_t *bands; uint16_t n_bands;
    const ek_output_t *outputs;
    ...;
} ek_bridge_config_t;
typedef struct { ...; } ek_bridge_t;

uint32_t ek_abi_version(void);
uint32_t ek_bridge_workspace_words(const ek_bridge_config_t *config);
ek_status_t ek_bridge_config_check(const ek_bridge_config_t *config);
ek_status_t ek_bridge_init(ek_bridge_t *bridge, const ek_bridge_config_t *config, int32_t handedness,
                           ek_word_t *workspace, size_t workspace_bytes);
void ek_bridge_reset(ek_bridge_t *bridge);
void ek_bridge_push(ek_bridge_t *bridge, const float *sample, float *features_out);
void ek_bridge_push_block(ek_bridge_t *bridge, const float *samples, uint32_t n, float *features_out);
const char *ek_bridge_spec_hash(const ek_bridge_t *bridge);
uint32_t ek_bridge_n_inputs(const ek_bridge_t *bridge);
uint32_t ek_bridge_n_features(const ek_bridge_t *bridge);
const char *ek_source_digest(void);
"""


def source_digest() -> str:
    """sha256 (16 hex) of what the extension is built from (header, sources, internal headers,
    build.json): a stale extension is detected by comparing it."""
    bridge = _bridge_dir()
    paths = [bridge / "include" / "edgekit_bridge.h", *(bridge / s for s in build_settings()["sources"]),
             *sorted((bridge / "src").glob("*.h")), bridge / "build.json"]
    h = hashlib.sha256()
    for path in paths:
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def extension_options() -> dict:
    """set_source's sources, include dirs and flags, from build.json. setuptools (wheel build)
    wants paths relative to the project root; an in-place compile, which runs in a temporary
    directory, absolute ones. build.json's warnings are left to the CMake builds (which turn them
    into errors): cffi's generated wrapper is not written for -Wconversion."""
    bridge = _bridge_dir()
    settings = build_settings()
    where = (lambda p: p.relative_to(bridge.parent).as_posix()) if BUILD_TIME else str  # noqa: E731
    return {
        "sources": [where(bridge / source) for source in settings["sources"]],
        "include_dirs": [where(bridge / "include")],
        "extra_compile_args": [f"-std=c{settings['c_standard']}", settings["optimisation"], *settings["speed_flags"]],
        "libraries": ["m"],
    }


def make_ffibuilder() -> FFI:
    ffibuilder = FFI()
    ffibuilder.cdef(CDEF)
    ffibuilder.set_source(
        "edgekit.bridge._ek_bridge",
        '#include "edgekit_bridge.h"\n'
        f'static const char *ek_source_digest(void) {{ return "{source_digest()}"; }}\n',
        **extension_options(),
    )
    return ffibuilder


if BUILD_TIME:
    ffibuilder = make_ffibuilder()


def is_source_checkout() -> bool:
    """True in an editable install, where the C sources are the repository's firmware_bridge/,
    outside the edgekit package; False in an installed wheel, whose package is never written."""
    from importlib.resources import files

    package = Path(str(files("edgekit"))).resolve()
    return not _bridge_dir().resolve().is_relative_to(package)


def build_inplace(tmpdir: str | Path | None = None) -> Path:
    """Compile the extension next to this file (source checkouts only); returns its path."""
    import shutil
    import tempfile

    from edgekit.errors import EdgekitError

    if not is_source_checkout():
        raise EdgekitError(f"{Path(__file__).parent} is an installed package, which edgekit never writes to: "
                           "rebuild the extension by reinstalling edgekit (pip install --force-reinstall edgekit)")
    with tempfile.TemporaryDirectory() as tmp:
        built = Path(make_ffibuilder().compile(tmpdir=str(tmpdir or tmp), verbose=False))
        target = Path(__file__).with_name(built.name)
        shutil.copyfile(built, target.with_suffix(".tmp"))
        target.with_suffix(".tmp").replace(target)  # atomic: a running import never sees half a file
    for other in installed_extensions():  # an older build under another ABI tag would shadow or confuse
        if other != target:
            other.unlink()
    return target


def installed_extensions() -> list[Path]:
    """Built extensions next to this file, in the order Python's import system would pick them."""
    from importlib.machinery import EXTENSION_SUFFIXES

    here = Path(__file__).parent
    return [here / f"_ek_bridge{suffix}" for suffix in EXTENSION_SUFFIXES if (here / f"_ek_bridge{suffix}").exists()]


def extension_is_fresh() -> bool:
    """True when the extension Python would import embeds the digest of the current C sources
    (checked on the file's bytes, so it works before the module is imported)."""
    found = installed_extensions()
    return bool(found) and source_digest().encode() in found[0].read_bytes()


def ensure_built() -> Path | None:
    """Rebuild in place when the extension is missing or older than the C sources, in a source
    checkout only: an installed package is never written (it was compiled when built). Returns
    what was built, or None."""
    if not is_source_checkout() or extension_is_fresh():
        return None
    return build_inplace()


if __name__ == "__main__":
    print(build_inplace())
