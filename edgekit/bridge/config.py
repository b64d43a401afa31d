"""FeatureSpec -> the C bridge's configuration (`ek_bridge_config_t` in
`firmware_bridge/include/edgekit_bridge.h`), as a plain `BridgeConfig` and as a generated
`ek_spec_<name>.h` initializer for firmware.

The plan walks the spec's families in `catalog.feature_table` order and turns every feature
into one output op over shared state: one ring per (signal, window), one moments tracker per
ring (rolling mean, std and stationarity share it), one extremum per (ring, max|min), and so
on. A spec the C cannot compute exactly is refused here with a `SpecError` (and the C init
refuses an invalid config too): the plan's feature names must equal `spec.names()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edgekit.errors import SpecError
from edgekit.features import catalog
from edgekit.features.mirror import TOF_GRID, mirror_plan
from edgekit.features.spec import FeatureSpec, NanPolicy, RollingStat, TiltSource

ABI_VERSION = 4  # EK_ABI_VERSION
MAX_THM, MAX_TOF_SENSORS, MAX_EXTRA, MAX_WINDOW, MAX_BINS, MAX_FEATURES = 8, 5, 16, 4096, 8, 4096
TOF_PIXELS = 64

# EK_SIG_*: the per-sample signal ids (same order as the C enum)
_FIXED = ("acc_x acc_y acc_z acc_mag gyro_x gyro_y gyro_z gyro_mag rot_w rot_x rot_y rot_z rot_angle "
          "linacc_x linacc_y linacc_z linacc_mag angvel_x angvel_y angvel_z angdist roll pitch yaw "
          "roll_rate pitch_rate yaw_rate tilt tilt_rate thm_mean thm_std thm_min thm_max thm_valid").split()
SIG_THM_1 = len(_FIXED)  # 34
SIG_THM_1_MISSING = SIG_THM_1 + MAX_THM  # 42
SIG_TOF_1_MEAN = SIG_THM_1_MISSING + MAX_THM  # 50
SIG_EXTRA_1 = SIG_TOF_1_MEAN + 5 * MAX_TOF_SENSORS  # 75
SIG_COUNT = SIG_EXTRA_1 + MAX_EXTRA  # 91

OUT_SIGNAL, OUT_TOF_PIXEL, OUT_JERK, OUT_MEAN, OUT_STD, OUT_MAX, OUT_MIN, OUT_ENERGY, OUT_ZCR, OUT_CORR, \
    OUT_STATIONARY, OUT_BANDPOWER, OUT_MEDIAN, OUT_JERK_MAG, OUT_SPECTRAL_ENTROPY, OUT_DOMINANT_FREQ, \
    OUT_BAND_SUM, OUT_TOF_PIXEL_SCALED = range(1, 19)
OUT_KIND_NAMES = {OUT_SIGNAL: "EK_OUT_SIGNAL", OUT_TOF_PIXEL: "EK_OUT_TOF_PIXEL", OUT_JERK: "EK_OUT_JERK",
                  OUT_MEAN: "EK_OUT_MEAN", OUT_STD: "EK_OUT_STD", OUT_MAX: "EK_OUT_MAX", OUT_MIN: "EK_OUT_MIN",
                  OUT_ENERGY: "EK_OUT_ENERGY", OUT_ZCR: "EK_OUT_ZCR", OUT_CORR: "EK_OUT_CORR",
                  OUT_STATIONARY: "EK_OUT_STATIONARY", OUT_BANDPOWER: "EK_OUT_BANDPOWER",
                  OUT_MEDIAN: "EK_OUT_MEDIAN", OUT_JERK_MAG: "EK_OUT_JERK_MAG",
                  OUT_SPECTRAL_ENTROPY: "EK_OUT_SPECTRAL_ENTROPY", OUT_DOMINANT_FREQ: "EK_OUT_DOMINANT_FREQ",
                  OUT_BAND_SUM: "EK_OUT_BAND_SUM", OUT_TOF_PIXEL_SCALED: "EK_OUT_TOF_PIXEL_SCALED"}
TILT_NONE, TILT_ORIENTATION, TILT_ACCELEROMETER = 0, 1, 2
NAN_HOLD_LAST = 1


def signal_ids(spec: FeatureSpec) -> dict[str, int]:
    """Per-sample signal name -> EK_SIG_* id, for the signals this spec's inputs allow."""
    ids = {name: i for i, name in enumerate(_FIXED)}
    inputs = spec.inputs
    for k in range(len(inputs.thm)):
        ids[f"thm_{k + 1}"] = SIG_THM_1 + k
        ids[f"thm_{k + 1}_missing"] = SIG_THM_1_MISSING + k
    for s in range(inputs.tof_sensors):
        for j, stat in enumerate(catalog.TOF_STATS):
            ids[f"tof_{s + 1}_{stat}"] = SIG_TOF_1_MEAN + 5 * s + j
    for k, name in enumerate(inputs.extra):
        ids[name] = SIG_EXTRA_1 + k
    available = catalog.per_sample_signals(spec)
    return {name: i for name, i in ids.items() if name in available}


@dataclass
class Mirror:
    enabled: int = 0
    acc_sign: tuple[int, ...] = (1, 1, 1)
    rot_sign: tuple[int, ...] = (1, 1, 1, 1)
    gyro_sign: tuple[int, ...] = (1, 1, 1)
    thm_source: tuple[int, ...] = (0,) * MAX_THM
    tof_source: tuple[int, ...] = (0,) * MAX_TOF_SENSORS
    tof_flip_columns: int = 0


@dataclass
class BridgeConfig:
    """Every field of `ek_bridge_config_t`; tracker arrays as tuples of ints."""

    spec_hash: str
    names: tuple[str, ...]
    has_rot: int
    has_gyro: int
    n_thm: int
    n_tof_sensors: int
    n_extra: int
    n_inputs: int
    sample_period_s: float
    gravity: float
    acc_scale: float
    tilt_source: int
    stationary_threshold: float
    mirror: Mirror
    rings: list[tuple[int, int]] = field(default_factory=list)  # (signal, capacity)
    prev_signals: list[int] = field(default_factory=list)
    moments: list[int] = field(default_factory=list)  # ring
    extrema: list[tuple[int, int]] = field(default_factory=list)  # (ring, is_max)
    energy: list[int] = field(default_factory=list)  # ring
    zcr: list[tuple[int, int]] = field(default_factory=list)  # (prev slot, window)
    corr: list[tuple[int, int]] = field(default_factory=list)  # (ring_a, ring_b)
    dft: list[tuple[int, tuple[int, ...]]] = field(default_factory=list)  # (ring, bins)
    medians: list[int] = field(default_factory=list)  # ring
    spectra: list[int] = field(default_factory=list)  # ring
    bands: list[tuple[int, int, int]] = field(default_factory=list)  # (spectrum, first bin, last bin)
    outputs: list[tuple[int, int, int]] = field(default_factory=list)  # (kind, bin, index)

    @property
    def n_features(self) -> int:
        return len(self.outputs)

    def workspace_words(self) -> int:
        """The sum of the header's EK_*_WORDS macros, at least 1 (equals ek_bridge_workspace_words:
        a spec with no state, the raw channels alone, still gets one word)."""
        return max(1, self.state_words())

    def state_words(self) -> int:
        """The sum of the header's EK_*_WORDS macros: the words of state the spec keeps (may be 0)."""
        cap = [c for _, c in self.rings]
        return (self.n_thm + self.n_extra + sum(2 + c for c in cap) + len(self.prev_signals) + 4 * len(self.moments)
                + sum(2 + (cap[r] + 1) // 2 for r, _ in self.extrema) + 2 * len(self.energy)
                + sum(3 + (w + 3) // 4 for _, w in self.zcr) + 9 * len(self.corr)
                + sum(1 + 2 * cap[r] + 3 * len(bins) for r, bins in self.dft)
                + sum(1 + (cap[r] + 1) // 2 for r in self.medians)
                + sum(1 + 2 * cap[r] + 2 * ((cap[r] - 1) // 2) for r in self.spectra))


class _Planner:
    def __init__(self, spec: FeatureSpec) -> None:
        self.spec = spec
        self.ids = signal_ids(spec)
        self.cfg = _base_config(spec)
        self._index: dict[tuple, int] = {}

    def _get(self, table: str, key: tuple, value) -> int:
        full_key = (table, *key)
        if full_key not in self._index:
            items = getattr(self.cfg, table)
            self._index[full_key] = len(items)
            items.append(value)
        return self._index[full_key]

    def signal(self, name: str) -> int:
        if name not in self.ids:
            raise SpecError(f"the C bridge has no per-sample signal {name!r} for this spec")
        return self.ids[name]

    @staticmethod
    def check_window(name: str, window: int) -> None:
        if not 1 <= window <= MAX_WINDOW:
            raise SpecError(f"window {window} for {name!r}: the C bridge takes windows of 1..{MAX_WINDOW} samples")

    def ring(self, name: str, window: int) -> int:
        self.check_window(name, window)
        sig = self.signal(name)
        return self._get("rings", (sig, window), (sig, window))

    def prev(self, name: str) -> int:
        sig = self.signal(name)
        return self._get("prev_signals", (sig,), sig)

    def prev_acc(self) -> int:
        """The first of three consecutive prev slots holding acc_x, acc_y, acc_z (jerk magnitude)."""
        sigs = tuple(self.signal(f"acc_{a}") for a in catalog.XYZ)
        found = next((i for i in range(len(self.cfg.prev_signals) - 2)
                      if tuple(self.cfg.prev_signals[i:i + 3]) == sigs), None)
        if found is None:  # a slot may repeat a signal kept elsewhere: both hold the same value
            found = len(self.cfg.prev_signals)
            self.cfg.prev_signals.extend(sigs)
            for i, sig in enumerate(sigs):
                self._index.setdefault(("prev_signals", sig), found + i)
        return found

    def out(self, kind: int, index: int, bin_slot: int = 0) -> None:
        self.cfg.outputs.append((kind, bin_slot, index))

    def plan(self) -> BridgeConfig:
        spec, fam, inputs = self.spec, self.spec.families, self.spec.inputs
        sig = lambda *names: [self.out(OUT_SIGNAL, self.signal(n)) for n in names]  # noqa: E731
        if fam.raw is not None:
            sig("acc_x", "acc_y", "acc_z")
            if inputs.rot is not None:
                sig("rot_w", "rot_x", "rot_y", "rot_z")
            if inputs.gyro is not None:
                sig("gyro_x", "gyro_y", "gyro_z")
            sig(*(f"thm_{k}" for k in range(1, len(inputs.thm) + 1)))
            sig(*(f"thm_{k}_missing" for k in range(1, len(inputs.thm) + 1)))
            if fam.raw.tof_pixels:
                for p in range(inputs.tof_sensors * TOF_PIXELS):
                    self.out(OUT_TOF_PIXEL_SCALED if fam.raw.tof_scaling else OUT_TOF_PIXEL, p)
            sig(*inputs.extra)
        if fam.acc_magnitude:
            sig("acc_mag")
        if fam.gyro_magnitude:
            sig("gyro_mag")
        if fam.rotation_angle:
            sig("rot_angle")
        if fam.linear_acc:
            sig("linacc_x", "linacc_y", "linacc_z", "linacc_mag")
        if fam.angular_velocity:
            sig("angvel_x", "angvel_y", "angvel_z")
        if fam.angular_distance:
            sig("angdist")
        if fam.tilt is not None:
            sig("tilt", "tilt_rate")
        if fam.euler:
            sig(*catalog.EULER, *(f"{e}_rate" for e in catalog.EULER))
        if fam.thermal:
            sig(*(f"thm_{s}" for s in catalog.THM_STATS))
        if fam.tof:
            for s in range(1, inputs.tof_sensors + 1):
                sig(*(f"tof_{s}_{stat}" for stat in catalog.TOF_STATS))
        if fam.jerk is not None:
            for c in fam.jerk.channels:
                self.out(OUT_JERK, self.prev(c))
        if fam.jerk_magnitude:
            self.out(OUT_JERK_MAG, self.prev_acc())
        for group in fam.rolling:
            for c in group.channels:
                for w in group.windows:
                    ring = self.ring(c, w)
                    for stat in group.stats:
                        if stat is RollingStat.MEDIAN:
                            self.out(OUT_MEDIAN, self._get("medians", (ring,), ring))
                        elif stat in (RollingStat.MAX, RollingStat.MIN):
                            is_max = int(stat is RollingStat.MAX)
                            self.out(OUT_MAX if is_max else OUT_MIN, self._get("extrema", (ring, is_max), (ring, is_max)))
                        else:
                            moments = self._get("moments", (ring,), ring)
                            self.out(OUT_MEAN if stat is RollingStat.MEAN else OUT_STD, moments)
        if fam.energy is not None:
            for c in fam.energy.channels:
                for w in fam.energy.windows:
                    ring = self.ring(c, w)
                    self.out(OUT_ENERGY, self._get("energy", (ring,), ring))
        if fam.zero_crossings is not None:
            for c in fam.zero_crossings.channels:
                for w in fam.zero_crossings.windows:
                    self.check_window(c, w)  # zcr keeps its own flags, no ring
                    prev = self.prev(c)
                    self.out(OUT_ZCR, self._get("zcr", (prev, w), (prev, w)))
        if fam.correlation is not None:
            for a, b in fam.correlation.pairs:
                for w in fam.correlation.windows:
                    ra, rb = self.ring(a, w), self.ring(b, w)
                    self.out(OUT_CORR, self._get("corr", (ra, rb), (ra, rb)))
        if fam.stationarity is not None:
            ring = self.ring("acc_mag", fam.stationarity.window)
            self.out(OUT_STATIONARY, self._get("moments", (ring,), ring))
        for bp in fam.band_power:
            bins = bp.bins(spec.sample_period_s)
            for c in bp.channels:
                ring = self.ring(c, bp.window)
                for start in range(0, len(bins), MAX_BINS):  # trackers of at most MAX_BINS bins
                    chunk = tuple(bins[start:start + MAX_BINS])
                    dft = self._get("dft", (ring, start, chunk), (ring, chunk))
                    for j in range(len(chunk)):
                        self.out(OUT_BANDPOWER, dft, j)
        for sp in fam.spectrum:
            for c in sp.channels:
                ring = self.ring(c, sp.window)
                spectrum = self._get("spectra", (ring,), ring)
                if sp.entropy:
                    self.out(OUT_SPECTRAL_ENTROPY, spectrum)
                if sp.dominant_frequency:
                    self.out(OUT_DOMINANT_FREQ, spectrum)
                for first, last in sp.band_bins(spec.sample_period_s):
                    self.out(OUT_BAND_SUM, self._get("bands", (spectrum, first, last), (spectrum, first, last)))
        return self.cfg


def _base_config(spec: FeatureSpec) -> BridgeConfig:
    inputs, fam = spec.inputs, spec.families
    if spec.nan_policy is not NanPolicy.HOLD_LAST:
        raise SpecError(f"NaN policy {spec.nan_policy.value!r}: the C bridge implements only 'hold_last'")
    if len(inputs.thm) > MAX_THM:
        raise SpecError(f"{len(inputs.thm)} thermopiles: the C bridge takes at most {MAX_THM}")
    if len(inputs.extra) > MAX_EXTRA:
        raise SpecError(f"{len(inputs.extra)} extra channels: the C bridge takes at most {MAX_EXTRA}")
    tilt = TILT_NONE if fam.tilt is None else (
        TILT_ORIENTATION if fam.tilt.source is TiltSource.ORIENTATION else TILT_ACCELEROMETER)
    return BridgeConfig(
        spec_hash=spec.hash(), names=spec.names(), has_rot=int(inputs.rot is not None),
        has_gyro=int(inputs.gyro is not None), n_thm=len(inputs.thm), n_tof_sensors=inputs.tof_sensors,
        n_extra=len(inputs.extra), n_inputs=len(spec.input_columns()), sample_period_s=spec.sample_period_s,
        gravity=spec.gravity, acc_scale=inputs.acc_scale, tilt_source=tilt,
        stationary_threshold=fam.stationarity.threshold if fam.stationarity else 0.0,
        mirror=_mirror(spec))


def _mirror(spec: FeatureSpec) -> Mirror:
    """The spec's mirror plan in the C's block form (signs, sensor permutations, column flip)."""
    if not spec.mirror:
        return Mirror()
    inputs = spec.inputs
    plan = mirror_plan(inputs)
    at = 0

    def signs(n: int) -> tuple[int, ...]:
        nonlocal at
        if any(plan.source[at + i] != at + i for i in range(n)):
            raise SpecError("mirror plan permutes IMU axes; the C bridge only flips their signs")
        values = tuple(int(plan.sign[at + i]) for i in range(n))
        at += n
        return values

    acc = signs(3)
    rot = signs(4) if inputs.rot is not None else (1, 1, 1, 1)
    gyro = signs(3) if inputs.gyro is not None else (1, 1, 1)
    n_thm = len(inputs.thm)
    thm = tuple(plan.source[at + k] - at for k in range(n_thm))
    at += n_thm
    tof_sources, flip = [], 0
    for s in range(inputs.tof_sensors):
        base = at + s * TOF_PIXELS
        src0 = plan.source[base]
        src_sensor = (src0 - at) // TOF_PIXELS
        flip = int(src0 - at - src_sensor * TOF_PIXELS == TOF_GRID - 1)
        for p in range(TOF_PIXELS):
            row, col = divmod(p, TOF_GRID)
            pixel = row * TOF_GRID + (TOF_GRID - 1 - col if flip else col)
            if plan.source[base + p] != at + src_sensor * TOF_PIXELS + pixel:
                raise SpecError("mirror plan is not a ToF sensor swap plus a column flip; the C bridge cannot apply it")
        tof_sources.append(src_sensor)
    if any(v != 1.0 for v in plan.sign[at:]):
        raise SpecError("mirror plan negates thermopile, ToF or extra channels; the C bridge cannot apply it")
    return Mirror(enabled=1, acc_sign=acc, rot_sign=rot, gyro_sign=gyro,
                  thm_source=thm + (0,) * (MAX_THM - n_thm),
                  tof_source=tuple(tof_sources) + (0,) * (MAX_TOF_SENSORS - len(tof_sources)),
                  tof_flip_columns=flip)


def bridge_config(spec: FeatureSpec) -> BridgeConfig:
    """The C bridge configuration of `spec`; SpecError when the bridge cannot compute it exactly."""
    cfg = _Planner(spec).plan()
    planned = _planned_names(spec, cfg)
    if planned != spec.names():
        first = next((a, b) for a, b in zip(planned + ("",) * len(spec.names()), spec.names()) if a != b)
        raise SpecError(f"the C bridge cannot compute this spec: its plan gives feature {first[0]!r} where the "
                        f"spec has {first[1]!r}")
    if cfg.n_features > MAX_FEATURES:
        raise SpecError(f"{cfg.n_features} features: the C bridge computes at most {MAX_FEATURES}")
    return cfg


def _planned_names(spec: FeatureSpec, cfg: BridgeConfig) -> tuple[str, ...]:
    """Feature names read back from the plan (independent of the planner's walk) so a family
    the planner does not know shows up as a mismatch instead of a silent approximation."""
    by_id = {i: n for n, i in signal_ids(spec).items()}
    ring_name = lambda r: (by_id[cfg.rings[r][0]], cfg.rings[r][1])  # noqa: E731
    names = []
    for kind, bin_slot, index in cfg.outputs:
        if kind == OUT_SIGNAL:
            names.append(by_id[index])
        elif kind in (OUT_TOF_PIXEL, OUT_TOF_PIXEL_SCALED):
            names.append(f"tof_{index // TOF_PIXELS + 1}_v{index % TOF_PIXELS}")
        elif kind == OUT_JERK:
            names.append(f"{by_id[cfg.prev_signals[index]]}_jerk")
        elif kind in (OUT_MEAN, OUT_STD):
            c, w = ring_name(cfg.moments[index])
            names.append(f"{c}_roll{w}_{'mean' if kind == OUT_MEAN else 'std'}")
        elif kind in (OUT_MAX, OUT_MIN):
            c, w = ring_name(cfg.extrema[index][0])
            names.append(f"{c}_roll{w}_{'max' if kind == OUT_MAX else 'min'}")
        elif kind == OUT_MEDIAN:
            c, w = ring_name(cfg.medians[index])
            names.append(f"{c}_roll{w}_median")
        elif kind == OUT_JERK_MAG:
            names.append("acc_jerk_mag")
        elif kind in (OUT_SPECTRAL_ENTROPY, OUT_DOMINANT_FREQ):
            c, w = ring_name(cfg.spectra[index])
            names.append(f"{c}_spectral_entropy_w{w}" if kind == OUT_SPECTRAL_ENTROPY else f"{c}_dominant_hz_w{w}")
        elif kind == OUT_BAND_SUM:
            spectrum, first, last = cfg.bands[index]
            c, w = ring_name(cfg.spectra[spectrum])
            # catalog.validate allows one range per (channel, window, bins), so the bins name it
            lo, hi = next(band for sp in spec.families.spectrum if sp.window == w and c in sp.channels
                          for band, bins in zip(sp.bands_hz, sp.band_bins(spec.sample_period_s))
                          if bins == (first, last))
            names.append(f"{c}_bp{catalog.bp_freq_label(lo)}to{catalog.bp_freq_label(hi)}hz_w{w}")
        elif kind == OUT_ENERGY:
            c, w = ring_name(cfg.energy[index])
            names.append(f"{c}_energy{w}")
        elif kind == OUT_ZCR:
            prev, w = cfg.zcr[index]
            names.append(f"{by_id[cfg.prev_signals[prev]]}_zcr{w}")
        elif kind == OUT_CORR:
            (a, w), (b, _) = ring_name(cfg.corr[index][0]), ring_name(cfg.corr[index][1])
            names.append(f"{a}_{b}_corr{w}")
        elif kind == OUT_STATIONARY:
            names.append(f"stationary{ring_name(cfg.moments[index])[1]}")
        elif kind == OUT_BANDPOWER:
            ring, bins = cfg.dft[index]
            c, w = ring_name(ring)
            freq = bins[bin_slot] / (w * spec.sample_period_s)
            label = next(f for bp in spec.families.band_power for f in bp.frequencies_hz
                         if bp.window == w and abs(f - freq) <= 1e-6 * max(1.0, freq))
            names.append(f"{c}_bp{catalog.bp_freq_label(label)}hz_w{w}")
    return tuple(names)


# --- the generated firmware header ------------------------------------------------------------
def _c_float(x: float) -> str:
    return f"{x!r}f" if "." in repr(x) or "e" in repr(x) else f"{x!r}.0f"


def _array(ctype: str, name: str, rows: list[str]) -> tuple[str, str]:
    if not rows:
        return "", "NULL"
    body = "\n".join(f"    {r}" for r in rows)
    return f"static const {ctype} {name}[] = {{\n{body}\n}};\n", name


def generate_header(spec: FeatureSpec, name: str) -> str:
    """C source of `ek_spec_<name>.h`: the spec's `ek_bridge_config_t` as `ek_spec_<name>`, with
    EK_SPEC_<NAME>_{HASH,N_INPUTS,N_FEATURES,WORKSPACE_WORDS} for sizing the caller's buffers."""
    if not name.isidentifier():
        raise SpecError(f"header name {name!r}; expected a C identifier such as 'cmi'")
    cfg = bridge_config(spec)
    lower, upper = name.lower(), name.upper()
    by_id = {i: n for n, i in signal_ids(spec).items()}
    cap = [c for _, c in cfg.rings]
    arrays = []

    def add(ctype: str, suffix: str, rows: list[str]) -> str:
        text, ref = _array(ctype, f"ek_spec_{lower}_{suffix}", rows)
        arrays.append(text)
        return ref

    rings = add("ek_ring_config_t", "rings", [f"{{{s}, {c}}}, /* {by_id[s]}, {c} samples */" for s, c in cfg.rings])
    prev = add("uint16_t", "prev_signals", [f"{s}, /* {by_id[s]} */" for s in cfg.prev_signals])
    moments = add("ek_moments_config_t", "moments", [f"{{{r}, 0}}," for r in cfg.moments])
    extrema = add("ek_extremum_config_t", "extrema", [f"{{{r}, {m}}}," for r, m in cfg.extrema])
    energy = add("ek_energy_config_t", "energy", [f"{{{r}, 0}}," for r in cfg.energy])
    zcr = add("ek_zcr_config_t", "zcr", [f"{{{p}, {w}}}," for p, w in cfg.zcr])
    corr = add("ek_corr_config_t", "corr", [f"{{{a}, {b}}}," for a, b in cfg.corr])
    dft = add("ek_dft_config_t", "dft", [f"{{{r}, {len(b)}, {{{', '.join(map(str, b))}}}}}," for r, b in cfg.dft])
    medians = add("ek_median_config_t", "medians", [f"{{{r}, 0}}," for r in cfg.medians])
    spectra = add("ek_spectrum_config_t", "spectra", [f"{{{r}, 0}}," for r in cfg.spectra])
    bands = add("ek_band_config_t", "bands", [f"{{{s}, {a}, {b}, 0}}," for s, a, b in cfg.bands])
    outputs = add("ek_output_t", "outputs", [f"{{{OUT_KIND_NAMES[k]}, {b}, {i}}}, /* {n} */"
                                             for (k, b, i), n in zip(cfg.outputs, cfg.names)])
    words = " + ".join(
        [f"EK_HELD_WORDS({cfg.n_thm}, {cfg.n_extra})"] + [f"EK_RING_WORDS({c})" for c in cap] + [f"EK_PREV_WORDS * {len(cfg.prev_signals)}u",
                                                 f"EK_MOMENTS_WORDS * {len(cfg.moments)}u"]
        + [f"EK_EXTREMUM_WORDS({cap[r]})" for r, _ in cfg.extrema]
        + [f"EK_ENERGY_WORDS * {len(cfg.energy)}u"] + [f"EK_ZCR_WORDS({w})" for _, w in cfg.zcr]
        + [f"EK_CORR_WORDS * {len(cfg.corr)}u"] + [f"EK_DFT_WORDS({cap[r]}, {len(b)})" for r, b in cfg.dft]
        + [f"EK_MEDIAN_WORDS({cap[r]})" for r in cfg.medians] + [f"EK_SPECTRUM_WORDS({cap[r]})" for r in cfg.spectra])
    if cfg.state_words() == 0:  # no state: one word, as ek_bridge_workspace_words gives (never an empty array)
        words = "1u"
    # trackers added with ABI 3 are written only when used: left out, a designated initializer
    # leaves them NULL / 0, and the headers of specs without them stay as they were
    later = "".join(f"\n    .{field} = {ref}, .n_{field} = {n}," for field, ref, n in (
        ("medians", medians, len(cfg.medians)), ("spectra", spectra, len(cfg.spectra)),
        ("bands", bands, len(cfg.bands))) if n)
    m = cfg.mirror
    ints = lambda xs: "{" + ", ".join(str(int(x)) for x in xs) + "}"  # noqa: E731
    return f"""/* ek_spec_{lower}.h - generated by edgekit.bridge.config.generate_header; do not edit.
 * FeatureSpec {cfg.spec_hash}: {len(spec.input_columns())} inputs, {cfg.n_features} features.
 * Inputs, in order: {", ".join(spec.input_columns()[:12])}{", ..." if len(spec.input_columns()) > 12 else ""} */
#ifndef EK_SPEC_{upper}_H
#define EK_SPEC_{upper}_H

#include "edgekit_bridge.h"

#define EK_SPEC_{upper}_HASH "{cfg.spec_hash}"
#define EK_SPEC_{upper}_N_INPUTS {cfg.n_inputs}u
#define EK_SPEC_{upper}_N_FEATURES {cfg.n_features}u
#define EK_SPEC_{upper}_WORKSPACE_WORDS ({words}) /* = {cfg.workspace_words()} */

{"".join(arrays)}
static const ek_bridge_config_t ek_spec_{lower} = {{
    .abi_version = EK_ABI_VERSION,
    .spec_hash = EK_SPEC_{upper}_HASH,
    .nan_policy = EK_NAN_HOLD_LAST,
    .tilt_source = {cfg.tilt_source},
    .has_rot = {cfg.has_rot}, .has_gyro = {cfg.has_gyro},
    .n_thm = {cfg.n_thm}, .n_tof_sensors = {cfg.n_tof_sensors}, .n_extra = {cfg.n_extra},
    .n_inputs = EK_SPEC_{upper}_N_INPUTS, .n_features = EK_SPEC_{upper}_N_FEATURES,
    .sample_period_s = {_c_float(cfg.sample_period_s)}, .gravity = {_c_float(cfg.gravity)},
    .acc_scale = {_c_float(cfg.acc_scale)}, .stationary_threshold = {_c_float(cfg.stationary_threshold)},
    .mirror = {{{m.enabled}, {ints(m.acc_sign)}, {ints(m.rot_sign)}, {ints(m.gyro_sign)}, {ints(m.thm_source)},
               {ints(m.tof_source)}, {m.tof_flip_columns}}},
    .rings = {rings}, .n_rings = {len(cfg.rings)},
    .prev_signals = {prev}, .n_prev = {len(cfg.prev_signals)},
    .moments = {moments}, .n_moments = {len(cfg.moments)},
    .extrema = {extrema}, .n_extrema = {len(cfg.extrema)},
    .energy = {energy}, .n_energy = {len(cfg.energy)},
    .zcr = {zcr}, .n_zcr = {len(cfg.zcr)},
    .corr = {corr}, .n_corr = {len(cfg.corr)},
    .dft = {dft}, .n_dft = {len(cfg.dft)},{later}
    .outputs = {outputs},
}};

#endif /* EK_SPEC_{upper}_H */
"""
