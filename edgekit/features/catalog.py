"""What a FeatureSpec produces: the per-sample signals its inputs allow, the ordered feature
names and units of its enabled families, and the checks that make a spec consistent.

Per-sample signals (computed from the current cleaned sample and the previous one) are the
vocabulary of the windowed families: `jerk`, `rolling`, `energy`, `zero_crossings`,
`correlation`, `band_power` and `spectrum` take any of them as a channel, whether or not the
family that outputs the signal itself is enabled.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable

from edgekit.data.cmi_schema import MIRROR_SENSOR_SWAP, TOF_SENSORS
from edgekit.errors import SpecError

if TYPE_CHECKING:
    from edgekit.features.spec import FeatureSpec, Spectrum

M_S2, M_S3, RAD, RAD_S, UNITLESS, DEG_C, TOF_RAW, HZ = "m/s^2", "m/s^3", "rad", "rad/s", "1", "degC", "tof", "Hz"
XYZ = ("x", "y", "z")
TOF_STATS = ("mean", "std", "min", "max", "valid")
THM_STATS = ("mean", "std", "min", "max", "valid")
EULER = ("roll", "pitch", "yaw")

# which input a signal needs, by name prefix, for error messages
_NEEDS = (
    (("rot_", "linacc_", "angvel_", "angdist", "roll", "pitch", "yaw"), "rot (an orientation quaternion)"),
    (("gyro_",), "gyro"),
    (("thm_",), "thm (thermopile columns)"),
    (("tof_",), "tof_sensors > 0"),
    (("tilt",), "the tilt family"),
)


def per_sample_signals(spec: "FeatureSpec") -> dict[str, str]:
    """Every per-sample signal this spec's inputs allow, name -> unit, in canonical order."""
    signals = _derived_signals(spec)
    for name in spec.inputs.extra:
        signals.setdefault(name, "raw")
    return signals


def _derived_signals(spec: "FeatureSpec") -> dict[str, str]:
    inputs, fam = spec.inputs, spec.families
    signals = {f"acc_{a}": M_S2 for a in XYZ}
    signals["acc_mag"] = M_S2
    if inputs.gyro is not None:
        signals.update({f"gyro_{a}": RAD_S for a in XYZ})
        signals["gyro_mag"] = RAD_S
    if inputs.rot is not None:
        signals.update({f"rot_{c}": UNITLESS for c in "wxyz"})
        signals["rot_angle"] = RAD
        signals.update({f"linacc_{a}": M_S2 for a in XYZ})
        signals["linacc_mag"] = M_S2
        signals.update({f"angvel_{a}": RAD_S for a in XYZ})
        signals["angdist"] = RAD
        signals.update({e: RAD for e in EULER})
        signals.update({f"{e}_rate": RAD_S for e in EULER})
    if fam.tilt is not None:
        signals.update({"tilt": RAD, "tilt_rate": RAD_S})
    for k in range(1, len(inputs.thm) + 1):
        signals[f"thm_{k}"] = DEG_C
    for k in range(1, len(inputs.thm) + 1):
        signals[f"thm_{k}_missing"] = UNITLESS
    if inputs.thm:
        signals.update({f"thm_{s}": (UNITLESS if s == "valid" else DEG_C) for s in THM_STATS})
    for sensor in range(1, inputs.tof_sensors + 1):
        signals.update({f"tof_{sensor}_{s}": (UNITLESS if s == "valid" else TOF_RAW) for s in TOF_STATS})
    return signals


def bp_freq_label(freq_hz: float) -> str:
    return f"{freq_hz:g}".replace(".", "p").replace("-", "m")


def spectrum_names(channel: str, window: int, entropy: bool, dominant: bool,
                   bands_hz: tuple[tuple[float, float], ...]) -> tuple[str, ...]:
    """Output names of one `Spectrum` channel, in output order (entropy, dominant, bands)."""
    names = [f"{channel}_spectral_entropy_w{window}"] if entropy else []
    if dominant:
        names.append(f"{channel}_dominant_hz_w{window}")
    names += [f"{channel}_bp{bp_freq_label(lo)}to{bp_freq_label(hi)}hz_w{window}" for lo, hi in bands_hz]
    return tuple(names)


def feature_table(spec: "FeatureSpec") -> tuple[tuple[str, str], ...]:
    """(name, unit) of every output feature, in output order."""
    inputs, fam = spec.inputs, spec.families
    sig = per_sample_signals(spec)
    table: list[tuple[str, str]] = []

    def add(*names: str) -> None:
        table.extend((n, sig[n]) for n in names)

    if fam.raw is not None:
        add(*(f"acc_{a}" for a in XYZ))
        if inputs.rot is not None:
            add(*(f"rot_{c}" for c in "wxyz"))
        if inputs.gyro is not None:
            add(*(f"gyro_{a}" for a in XYZ))
        add(*(f"thm_{k}" for k in range(1, len(inputs.thm) + 1)))
        add(*(f"thm_{k}_missing" for k in range(1, len(inputs.thm) + 1)))
        if fam.raw.tof_pixels:
            table.extend((c, TOF_RAW) for c in inputs.tof_columns())
        add(*inputs.extra)
    if fam.acc_magnitude:
        add("acc_mag")
    if fam.gyro_magnitude:
        add("gyro_mag")
    if fam.rotation_angle:
        add("rot_angle")
    if fam.linear_acc:
        add("linacc_x", "linacc_y", "linacc_z", "linacc_mag")
    if fam.angular_velocity:
        add("angvel_x", "angvel_y", "angvel_z")
    if fam.angular_distance:
        add("angdist")
    if fam.tilt is not None:
        add("tilt", "tilt_rate")
    if fam.euler:
        add(*EULER, *(f"{e}_rate" for e in EULER))
    if fam.thermal:
        add(*(f"thm_{s}" for s in THM_STATS))
    if fam.tof:
        for sensor in range(1, inputs.tof_sensors + 1):
            add(*(f"tof_{sensor}_{s}" for s in TOF_STATS))
    if fam.jerk is not None:
        table.extend((f"{c}_jerk", f"({sig[c]})/s") for c in fam.jerk.channels)
    if fam.jerk_magnitude:
        table.append(("acc_jerk_mag", M_S3))
    for group in fam.rolling:
        for c in group.channels:
            for w in group.windows:
                table.extend((f"{c}_roll{w}_{s.value}", sig[c]) for s in group.stats)
    if fam.energy is not None:
        table.extend((f"{c}_energy{w}", f"({sig[c]})^2") for c in fam.energy.channels for w in fam.energy.windows)
    if fam.zero_crossings is not None:
        zc = fam.zero_crossings
        table.extend((f"{c}_zcr{w}", UNITLESS) for c in zc.channels for w in zc.windows)
    if fam.correlation is not None:
        table.extend((f"{a}_{b}_corr{w}", UNITLESS) for a, b in fam.correlation.pairs for w in fam.correlation.windows)
    if fam.stationarity is not None:
        table.append((f"stationary{fam.stationarity.window}", UNITLESS))
    for bp in fam.band_power:
        for c in bp.channels:
            table.extend((f"{c}_bp{bp_freq_label(f)}hz_w{bp.window}", f"({sig[c]})^2") for f in bp.frequencies_hz)
    for sp in fam.spectrum:
        for c in sp.channels:
            units = (([UNITLESS] if sp.entropy else []) + ([HZ] if sp.dominant_frequency else [])
                     + [f"({sig[c]})^2"] * len(sp.bands_hz))
            table.extend(zip(spectrum_names(c, sp.window, sp.entropy, sp.dominant_frequency, sp.bands_hz), units))
    return tuple(table)


# --- validation -----------------------------------------------------------------------------
def _missing_input_message(family: str, channel: str, available: dict[str, str]) -> str:
    for prefixes, need in _NEEDS:
        if channel.startswith(prefixes):
            return f"family {family!r} uses channel {channel!r}, which needs {need}; this spec has none"
    return f"family {family!r} uses unknown channel {channel!r}; available: {list(available)}"


def _check_positive_windows(family: str, windows: tuple[int, ...]) -> None:
    if not windows:
        raise SpecError(f"family {family!r}: no windows given; expected at least one")
    for w in windows:
        if not isinstance(w, int) or w < 1:
            raise SpecError(f"family {family!r}: window {w!r}; expected an integer >= 1")


def validate(spec: "FeatureSpec") -> None:
    """Raise SpecError for anything the pipelines could not compute as specified."""
    inputs, fam = spec.inputs, spec.families
    for label, value in (("sample_period_s", spec.sample_period_s), ("gravity", spec.gravity),
                         ("inputs.acc_scale", inputs.acc_scale)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise SpecError(f"{label} = {value!r}; expected a positive finite number")
    for label, cols, n in (("acc", inputs.acc, 3), ("rot", inputs.rot, 4), ("gyro", inputs.gyro, 3)):
        if cols is not None and len(cols) != n:
            raise SpecError(f"inputs.{label} has {len(cols)} columns {list(cols)}; expected {n}")
    if not 0 <= inputs.tof_sensors <= TOF_SENSORS:
        raise SpecError(f"inputs.tof_sensors = {inputs.tof_sensors}; expected 0..{TOF_SENSORS}")
    columns = inputs.columns()
    dupes = sorted({c for c in columns if columns.count(c) > 1})
    if dupes:
        raise SpecError(f"input columns {dupes} are given more than one role; each column plays one role")

    needs_rot = {"rotation_angle": fam.rotation_angle, "linear_acc": fam.linear_acc,
                 "angular_velocity": fam.angular_velocity, "angular_distance": fam.angular_distance,
                 "euler": fam.euler}
    if fam.tilt is not None and fam.tilt.source.value == "orientation":
        needs_rot["tilt (source orientation)"] = True
    for family, enabled in needs_rot.items():
        if enabled and inputs.rot is None:
            hint = " (a gyroscope alone gives no absolute orientation)" if inputs.gyro is not None else ""
            raise SpecError(f"family {family!r} needs input 'rot' (an orientation quaternion); "
                            f"this spec has none{hint}")
    if fam.gyro_magnitude and inputs.gyro is None:
        raise SpecError("family 'gyro_magnitude' needs input 'gyro'; this spec has none")
    if fam.thermal and not inputs.thm:
        raise SpecError("family 'thermal' needs input 'thm' (thermopile columns); this spec has none")
    if (fam.tof or (fam.raw is not None and fam.raw.tof_pixels)) and inputs.tof_sensors == 0:
        raise SpecError("family 'tof' needs inputs.tof_sensors > 0; this spec has none")
    if fam.raw is not None and fam.raw.tof_scaling and not fam.raw.tof_pixels:
        raise SpecError("families.raw.tof_scaling maps the passed-through ToF pixels, and raw.tof_pixels is false; "
                        "set raw.tof_pixels = true or tof_scaling = false")

    available = per_sample_signals(spec)
    clashes = [name for name in inputs.extra if name in _derived_signals(spec)]
    if clashes:
        raise SpecError(f"extra channels {clashes} clash with feature names; rename them")

    def check_channels(family: str, channels: tuple[str, ...]) -> None:
        if not channels:
            raise SpecError(f"family {family!r}: no channels given; expected at least one")
        for c in channels:
            if c not in available:
                raise SpecError(_missing_input_message(family, c, available))

    if fam.jerk is not None:
        check_channels("jerk", fam.jerk.channels)
    for group in fam.rolling:
        check_channels("rolling", group.channels)
        _check_positive_windows("rolling", group.windows)
        if not group.stats:
            raise SpecError("family 'rolling': no stats given; expected some of mean, std, min, max, median")
    for family, wc in (("energy", fam.energy), ("zero_crossings", fam.zero_crossings)):
        if wc is not None:
            check_channels(family, wc.channels)
            _check_positive_windows(family, wc.windows)
    if fam.correlation is not None:
        check_channels("correlation", tuple(c for pair in fam.correlation.pairs for c in pair))
        _check_positive_windows("correlation", fam.correlation.windows)
    if fam.stationarity is not None:
        _check_positive_windows("stationarity", (fam.stationarity.window,))
        if not fam.stationarity.threshold > 0:
            raise SpecError(f"stationarity threshold {fam.stationarity.threshold!r}; expected > 0 m/s^2")
    for bp in fam.band_power:
        check_channels("band_power", bp.channels)
        _check_positive_windows("band_power", (bp.window,))
        for f in bp.frequencies_hz:
            k = f * bp.window * spec.sample_period_s
            if abs(k - round(k)) > 1e-6 * max(1.0, k) or not 1 <= round(k) <= bp.window // 2:
                step = 1.0 / (bp.window * spec.sample_period_s)
                raise SpecError(
                    f"band_power: {f:g} Hz is not a DFT bin of a {bp.window}-sample window at "
                    f"{1 / spec.sample_period_s:g} Hz (bins are multiples of {step:g} Hz up to "
                    f"{step * (bp.window // 2):g} Hz); pick f with f*window*dt an integer")
    band_of: dict[tuple[str, int, tuple[int, int]], tuple[float, float]] = {}
    for sp in fam.spectrum:
        _check_spectrum(sp, spec.sample_period_s, check_channels)
        for band, bins in zip(sp.bands_hz, sp.band_bins(spec.sample_period_s)):
            for c in sp.channels:
                other = band_of.setdefault((c, sp.window, bins), band)
                if other != band:
                    raise SpecError(f"spectrum: bands {other[0]:g}-{other[1]:g} Hz and {band[0]:g}-{band[1]:g} Hz "
                                    f"of {c!r} hold the same DFT bins ({bins[0]}..{bins[1]}) of a {sp.window}-sample "
                                    "window, so the same value; keep one")

    if spec.mirror:
        for label, count in (("thm", len(inputs.thm)), ("tof", inputs.tof_sensors)):
            for a, b in MIRROR_SENSOR_SWAP:
                if min(a, b) <= count < max(a, b):
                    raise SpecError(f"mirror swaps {label} sensors {a} and {b}, but the spec has {count} "
                                    f"{label} sensors; give both or neither, or set mirror=False")

    names = [n for n, _ in feature_table(spec)]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SpecError(f"feature names {dupes} appear more than once; remove the duplicate channel or pair")


def _check_spectrum(sp: "Spectrum", dt: float, check_channels: Callable[[str, tuple[str, ...]], None]) -> None:
    check_channels("spectrum", sp.channels)
    _check_positive_windows("spectrum", (sp.window,))
    rate, step = 1.0 / dt, 1.0 / (sp.window * dt)
    if sp.n_bins < 1:
        raise SpecError(f"spectrum: a {sp.window}-sample window has no DFT bin between DC and Nyquist; "
                        "expected a window of at least 3 samples")
    if not (sp.entropy or sp.dominant_frequency or sp.bands_hz):
        raise SpecError("spectrum: entropy, dominant_frequency and bands_hz are all off; expected at least one")
    for (low, high), (first, last) in zip(sp.bands_hz, sp.band_bins(dt)):
        label = f"band {low:g}-{high:g} Hz"
        if not (math.isfinite(low) and math.isfinite(high) and 0.0 <= low < high):
            raise SpecError(f"spectrum: {label}; expected 0 <= low < high")
        if high > rate / 2 * (1 + 1e-9):
            raise SpecError(f"spectrum: {label} reaches above Nyquist, {rate / 2:g} Hz at a sample rate of "
                            f"{rate:g} Hz; expected high <= {rate / 2:g} Hz")
        if first > last:
            raise SpecError(f"spectrum: {label} holds no DFT bin of a {sp.window}-sample window at {rate:g} Hz "
                            f"(bins at multiples of {step:g} Hz, {step:g} to {step * sp.n_bins:g} Hz); "
                            "widen the range or lengthen the window")
