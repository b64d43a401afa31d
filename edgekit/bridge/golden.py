"""Golden vectors: small input/expected-output files from the Python reference, checked by the C
test program `firmware_bridge/tests/test_golden.c` on the host and on Cortex-M4F under QEMU.

Per case `firmware_bridge/golden/<name>.bin` (little-endian) and the case's config header
`ek_spec_<name>.h` (`config.generate_header`):

    char magic[4] = "EKGV"; uint32 version = 1; char spec_hash[16];
    uint32 n_inputs, n_features, n_segments;
    n_segments x { int32 handedness; uint32 n_samples; }
    float32 slack[n_features]       # per feature: the parity slack (parity.py), max over samples
    per segment: float32 inputs[n_samples][n_inputs], float32 expected[n_samples][n_features]

The C test accepts |c - expected| <= 1e-5 * max(1, |expected|) + slack[j]. Segments are separate
sequences (the bridge is reset, or re-initialised when the handedness changes, between them).
Streams come from the wrist simulator (with extra faults injected at fixed rows) and a synthetic
UCI-HAR-like stream, so the script needs no data files and rewrites identical bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgekit.bridge import parity
from edgekit.bridge.config import generate_header
from edgekit.features.spec import (
    STANDARD_GRAVITY_M_S2,
    BandPower,
    Correlation,
    FeatureSpec,
    InputSpec,
    RawPassthrough,
    RollingStat,
    RollingStats,
    Spectrum,
    Stationarity,
    WindowedChannels,
)
from edgekit.resources import bridge_dir, cache_dir

MAGIC, VERSION = b"EKGV", 1


def committed_golden_dir() -> Path:
    """The committed vectors the C tests embed (`firmware_bridge/golden/`, shipped read-only;
    update them in a checkout with `edgekit bridge golden --out firmware_bridge/golden`)."""
    return bridge_dir() / "golden"


@dataclass
class GoldenCase:
    name: str
    spec: FeatureSpec
    segments: list[tuple[int, np.ndarray]]  # (handedness, float32 samples (n, n_inputs))


def kitchen_sink_spec() -> FeatureSpec:
    """Every family and option at once: rot and gyro, raw ToF pixels of one sensor, an extra
    channel, rolling min over windows 1..7, several windows and pairs, 10 DFT bins (two C trackers),
    jerk magnitude, rolling medians of even and odd windows, spectra (one sharing a band-power
    ring). test_golden.c takes at most 256 features."""
    base = FeatureSpec.cmi_default()
    inputs = InputSpec(acc=base.inputs.acc, rot=base.inputs.rot, gyro=("gyro_x", "gyro_y", "gyro_z"),
                       thm=base.inputs.thm, tof_sensors=1, extra=("counter_f",))
    fam = base.families
    spec = FeatureSpec(inputs=inputs, mirror=True, families=fam)
    return spec.with_families(
        raw=RawPassthrough(tof_pixels=True),
        gyro_magnitude=True,
        rolling=fam.rolling + (RollingStats(("angvel_x", "thm_5", "counter_f", "tof_1_mean", "gyro_z"), (1, 3, 7),
                                            (RollingStat.MIN, RollingStat.MAX, RollingStat.STD, RollingStat.MEAN)),
                               RollingStats(("linacc_x",), (4, 9), (RollingStat.MEDIAN,))),
        jerk_magnitude=True,
        jerk=fam.jerk.__class__(fam.jerk.channels + ("gyro_mag", "yaw", "thm_1")),
        energy=WindowedChannels(("linacc_x", "yaw_rate", "gyro_y"), (4, 20)),
        zero_crossings=WindowedChannels(("angvel_y", "linacc_z", "roll"), (2, 9)),
        correlation=Correlation(fam.correlation.pairs + (("linacc_x", "angvel_z"), ("thm_1", "tof_1_mean"),
                                                         ("gyro_x", "counter_f")), (3, 20)),
        stationarity=Stationarity(window=10, threshold=0.5),
        band_power=fam.band_power + (BandPower(("acc_x", "angvel_z"), 10, (5.0, 10.0, 25.0)),
                                     BandPower(("gyro_mag",), 20, tuple(2.5 * k for k in range(1, 11)))),
        spectrum=(Spectrum(("linacc_mag",), 10, bands_hz=((0.0, 5.0), (5.0, 25.0))),
                  Spectrum(("acc_x",), 10, dominant_frequency=False, bands_hz=((10.0, 20.0),))),
    )


def simulated_sequences(n_sequences: int = 40, seed: int = 7) -> list[tuple[str, int, "object"]]:
    """(sequence id, handedness, its rows as a Polars frame) from the wrist simulator, with nulls
    mapped to NaN the way the loaders do."""
    import polars as pl

    from edgekit.data.simulator import SimConfig, simulate

    data = simulate(n_sequences, seed=seed, config=SimConfig(n_subjects=6, left_handed_fraction=0.5))
    hand = dict(zip(data.demographics["subject"].to_list(), data.demographics["handedness"].to_list()))
    frame = data.train.sort("sequence_id", "sequence_counter")
    out = []
    for (sid,), part in frame.group_by("sequence_id", maintain_order=True):
        out.append((sid, int(hand[part["subject"][0]]), part))
    return [(s, h, p.with_columns(pl.col(pl.Float32, pl.Float64, pl.Int16).cast(pl.Float32))) for s, h, p in out]


def frame_samples(part, spec: FeatureSpec, extra: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """The spec's input columns of one sequence as float32 (nulls as NaN); `extra` supplies
    columns the frame lacks (synthetic gyro, counters)."""
    n = part.height
    cols = []
    for name in spec.input_columns():
        if extra is not None and name in extra:
            cols.append(np.asarray(extra[name], dtype=np.float32)[:n])
        else:
            cols.append(part[name].cast(float).fill_null(float("nan")).to_numpy().astype(np.float32))
    return np.stack(cols, axis=1) if cols else np.zeros((n, 0), np.float32)


def inject_faults(x: np.ndarray, spec: FeatureSpec, rows: dict[str, tuple[int, ...]]) -> np.ndarray:
    """Put the NaN policy's cases at fixed rows: NaN and zero-norm quaternions, NaN acc, NaN thm."""
    x = x.copy()
    cols = spec.input_columns()
    at = {name: cols.index(name) for name in cols}
    rot = [at[c] for c in (spec.inputs.rot or ())]
    for r in rows.get("nan_rot", ()):
        x[r, rot] = np.nan
    for r in rows.get("zero_rot", ()):
        x[r, rot] = 0.0
    for r in rows.get("flip_rot", ()):
        x[r, rot] *= -1.0
    for r in rows.get("nan_acc", ()):
        x[r, [at[c] for c in spec.inputs.acc][:1]] = np.nan
    for r in rows.get("nan_thm", ()):
        if spec.inputs.thm:
            x[r, at[spec.inputs.thm[1]]] = np.nan
    return x


def synthetic_uci_stream(n: int, seed: int = 0) -> np.ndarray:
    """total_acc (g) around gravity with walking-like oscillation, body_gyro (rad/s), a few NaN rows."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) * 0.02
    acc = np.stack([0.2 * np.sin(2 * np.pi * 1.8 * t), 0.1 * np.cos(2 * np.pi * 1.8 * t) + 0.05,
                    1.0 + 0.3 * np.sin(2 * np.pi * 3.6 * t)], axis=1) + rng.normal(0, 0.02, (n, 3))
    gyro = np.stack([0.8 * np.sin(2 * np.pi * 1.8 * t + 0.3), 0.5 * np.sin(2 * np.pi * 0.9 * t),
                     0.2 * np.cos(2 * np.pi * 1.8 * t)], axis=1) + rng.normal(0, 0.05, (n, 3))
    x = np.concatenate([acc, gyro], axis=1).astype(np.float32)
    if n > 64:
        x[[17, 18], 0:3] = np.nan
        x[[40], 3:6] = np.nan
        x[60:64, 3:6] = 0.0  # a flat gyro run: correlation and stationarity at their floors
    return x


def golden_cases() -> list[GoldenCase]:
    sequences = simulated_sequences()
    right = [s for s in sequences if s[1] == 1]
    left = [s for s in sequences if s[1] == 0]
    cmi = FeatureSpec.cmi_default()
    with_sensors = next(p for _, _, p in right if p["thm_1"].null_count() == 0 and p.height >= 52)
    imu_only = next(p for _, _, p in left if p["thm_1"].null_count() == p.height)
    faults = {"nan_rot": (5, 6), "zero_rot": (9,), "flip_rot": (12, 13, 30), "nan_acc": (20,), "nan_thm": (3, 4, 33)}
    cmi_case = GoldenCase("cmi", cmi, [
        (1, inject_faults(frame_samples(with_sensors, cmi)[:52], cmi, faults)),
        (0, inject_faults(frame_samples(imu_only, cmi)[:14], cmi, {"nan_rot": (0, 1)})),
    ])

    uci = FeatureSpec.uci_har_default()
    uci_case = GoldenCase("uci", uci, [(1, synthetic_uci_stream(110)), (1, synthetic_uci_stream(6, seed=1))])

    kitchen = kitchen_sink_spec()
    source = next(p for _, _, p in left if p["thm_1"].null_count() == 0 and p.height >= 60)
    n = 60
    rng = np.random.default_rng(3)
    extra = {"gyro_x": np.sin(np.arange(n) * 0.3) + rng.normal(0, 0.1, n),
             "gyro_y": np.cos(np.arange(n) * 0.2) + rng.normal(0, 0.1, n),
             "gyro_z": rng.normal(0, 0.4, n), "counter_f": np.arange(n, dtype=np.float64)}
    x = inject_faults(frame_samples(source.head(n), kitchen, extra), kitchen, faults)
    x[44, kitchen.input_columns().index("gyro_y")] = np.inf
    kitchen_case = GoldenCase("kitchen", kitchen, [(0, x), (1, x[:10])])
    return [cmi_case, uci_case, kitchen_case]


def encode_case(case: GoldenCase) -> bytes:
    spec = case.spec
    n_in, n_out = len(spec.input_columns()), len(spec.names())
    head = MAGIC + struct.pack("<I", VERSION) + spec.hash().encode() + struct.pack("<III", n_in, n_out, len(case.segments))
    head += b"".join(struct.pack("<iI", h, len(x)) for h, x in case.segments)
    slack = np.zeros(n_out)
    bodies = []
    for hand, x in case.segments:
        ref = parity.reference_features(spec, x, hand)
        slack = np.maximum(slack, parity.perturbation_slack(spec, x, hand, ref).max(axis=0))
        bodies.append(np.asarray(x, "<f4").tobytes() + ref.astype("<f4").tobytes())
    return head + slack.astype("<f4").tobytes() + b"".join(bodies)


def decode_case(blob: bytes) -> dict:
    """The inverse of encode_case, for tests."""
    if blob[:4] != MAGIC:
        raise ValueError("not an edgekit golden vector file (magic EKGV)")
    version, = struct.unpack_from("<I", blob, 4)
    spec_hash = blob[8:24].decode()
    n_in, n_out, n_seg = struct.unpack_from("<III", blob, 24)
    at = 36
    segments = []
    for _ in range(n_seg):
        segments.append(struct.unpack_from("<iI", blob, at))
        at += 8
    slack = np.frombuffer(blob, "<f4", n_out, at)
    at += 4 * n_out
    data = []
    for hand, n in segments:
        x = np.frombuffer(blob, "<f4", n * n_in, at).reshape(n, n_in)
        at += 4 * n * n_in
        y = np.frombuffer(blob, "<f4", n * n_out, at).reshape(n, n_out)
        at += 4 * n * n_out
        data.append((hand, x, y))
    return {"version": version, "spec_hash": spec_hash, "slack": slack, "segments": data}


def write_golden(out_dir: Path | str | None = None) -> list[Path]:
    """Write every case's .bin and ek_spec_<name>.h (atomically) into `out_dir`, by default the
    user cache's golden/ (never into the installed package); returns the paths written."""
    out = Path(out_dir) if out_dir is not None else cache_dir("golden")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for case in golden_cases():
        for path, payload in ((out / f"{case.name}.bin", encode_case(case)),
                              (out / f"ek_spec_{case.name}.h", generate_header(case.spec, case.name).encode())):
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.write_bytes(payload)
            tmp.replace(path)
            written.append(path)
    return written


if __name__ == "__main__":
    for p in write_golden():
        print(p, p.stat().st_size)
