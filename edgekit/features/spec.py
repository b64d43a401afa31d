"""`FeatureSpec`: the single source of truth for edgekit's causal features.

One frozen dataclass says which raw columns play which role, the sample period, gravity, the NaN
policy, handedness mirroring and every enabled feature family with its parameters. The Polars
batch pipeline (`batch.py`), the pure-Python streaming reference (`reference.py`) and the C99
firmware bridge implement exactly this spec; `spec.hash()` goes into every exported model and the
runtime refuses a model whose hash differs from its bridge's.

Every feature is causal: a sample's features use that sample and earlier samples of the same
sequence only, and each is an O(1)-per-sample recurrence a Cortex-M4 can afford in float32
(ring buffers, running sums, sliding Welford moments, a monotonic deque, a sliding DFT).

NaN policy `HOLD_LAST` (the only policy so far; an Enum so a new one changes the hash). A value
is *missing* when it is NaN (or null), +-Inf, or outside its role's physical range below: a
sensor cannot produce it, so it is corruption (a bit flip, a sentinel, a unit mix-up), and
treating it like NaN keeps one huge value from overflowing float32 windows for a whole window
(the bridge squares in float32: |x| > 1.8e19 overflows). The ranges, in the spec's units
(acc after `acc_scale`), per component, ends included:
- acc: |v| <= `ACC_RANGE` (16 g = 156.9 m/s^2, the widest range of common wrist/phone IMUs);
- gyro: |v| <= `GYRO_RANGE` (35 rad/s, just above +-2000 deg/s, the widest common MEMS range);
- rot: |v| <= `QUAT_RANGE` (1.5; a unit quaternion's components are <= 1, and slightly
  unnormalised device output is still normalised below);
- thm: `THM_RANGE` -70..380 degC (the object range of common thermopiles such as the MLX90614);
- ToF: `TOF_RANGE` 0..254 (the CMI sensors' valid returns; -1 means no return);
- extra pass-through channels: |v| <= `EXTRA_RANGE` (1e6, a generous bound for unknown units
  that keeps squares and products of a window far from float32 overflow).
The ranges are module constants like `QUAT_MIN_NORM`, part of what HOLD_LAST means, not spec
fields: the hash does not change. The C bridge has them as EK_*_RANGE macros in
`edgekit_bridge.h` (a test holds the two equal); `input_ranges`/`out_of_range` give them per
raw column for tools that look at raw data (`edgekit data inspect`, `edgekit stream`).
Denormal inputs (|v| < 1.2e-38 in float32) are ordinary tiny values, not flushed: every
decision on them (zero crossings compare signs, not a product that would underflow) comes out
the same in float32 and float64 as long as the bridge is not built to flush denormals to zero.
Per role:
- acc, gyro: a sample with any missing component is replaced, as a whole vector, by the last
  valid sample of the sequence; before the first valid sample the vector is 0.
- rot: a sample with a missing component or a norm below `QUAT_MIN_NORM` holds the last valid
  orientation; before the first valid one the orientation is identity (1, 0, 0, 0). Valid
  quaternions are normalised, then made sign-continuous: q is negated when its dot product with
  the previous (held) orientation is negative; the first is compared with identity, so every
  sequence starts in the w >= 0 hemisphere and q -> -q changes no feature.
- thm: each thermopile holds its last valid value (0 before the first) and gets a per-sample
  `thm_k_missing` indicator (1 where the raw value is missing).
- extra pass-through channels: each holds its last valid value, 0 before the first.
- ToF: a pixel is valid when within `TOF_RANGE` (raw -1 means no return). Per-sensor aggregates
  use valid pixels only; a sensor with no valid pixel gives mean/std/min/max 0 and `valid` 0.
  ToF is never held: the valid fraction tells the model what was seen. Raw pixel pass-through
  writes missing pixels as -1.
- thermopile aggregates likewise use the valid thermopiles of the current sample only.
So every output is finite for any input: finite, missing, huge or denormal.

Shared conventions: quaternions are scalar-first and rotate device-frame vectors into the world
frame (world z up), gravity and the default sample period come from `edgekit.data.cmi_schema`.
Backward differences (angular velocity, jerk, rates) are 0 on a sequence's first sample; rolling
windows are causal and partial at the start (the first sample's window has one sample); standard
deviations are population (ddof = 0).

Feature definitions (q = (w, x, y, z) the cleaned orientation, dt the sample period):
- rot_angle = 2 acos(min(1, |w|)); gravity in the device frame g_d = g (2(xz - wy), 2(yz + wx),
  1 - 2(x^2 + y^2)); linacc = acc - g_d.
- dq = conj(q_{t-1}) q_t (body frame, dq_w >= 0 by sign continuity); angdist = 2 atan2(|dq_v|, dq_w);
  angvel = dq_v / |dq_v| * angdist / dt (2 dq_v / dt when |dq_v| < 1e-12).
- tilt = acos(1 - 2(x^2 + y^2)) (device z against world up) or, from the accelerometer,
  acos(acc_z / |acc|) (0 when |acc| < 1e-9). Euler angles are intrinsic z-y'-x'', R = Rz(yaw)
  Ry(pitch) Rx(roll): roll = atan2(2(wx + yz), 1 - 2(x^2 + y^2)), pitch = asin(2(wy - xz)),
  yaw = atan2(2(wz + xy), 1 - 2(y^2 + z^2)); their rates wrap the difference into (-pi, pi].
- energy = mean of x^2 over the window; zcr = mean over the window of c_t, where c_t = 1 when
  x_{t-1} x_t < 0 (c = 0 on the first sample); correlation = Pearson r over the window, 0 when
  either population variance is below `VARIANCE_FLOOR`; stationary = 1 when the rolling std of
  acc_mag is below the threshold; band power: see `BandPower`; spectral entropy, dominant
  frequency and band-range power: see `Spectrum`.
- acc_jerk_mag = |acc_t - acc_{t-1}| / dt (the magnitude of the jerk vector, 0 on the first
  sample); rolling median = the middle value of the window, the mean of the two middle values
  when the window holds an even number of samples.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field, replace
from enum import Enum
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
from pydantic import with_config

from edgekit.data.cmi_schema import (
    ACC_COLUMNS,
    GRAVITY_M_S2,
    ROT_COLUMNS,
    SIM_SAMPLE_PERIOD_S,
    THM_COLUMNS,
    TOF_COLUMNS,
    TOF_NO_RETURN,
    TOF_PIXELS,
    TOF_SENSORS,
)
from edgekit.config_io import FORBID, parse, to_plain
from edgekit.errors import SpecError
from edgekit.features import catalog, channel_names

if TYPE_CHECKING:
    from edgekit.data.dataset import SequenceDataset

SPEC_FORMAT = 1  # bump when the meaning of an existing field changes
STANDARD_GRAVITY_M_S2 = 9.80665  # the `g` of accelerometers that report in g (UCI-HAR)
QUAT_MIN_NORM = 1e-6  # below this a quaternion is treated as missing (zero-norm dropouts)
VARIANCE_FLOOR = 1e-9  # correlation is 0 when a window's variance is below this (std < 3e-5)
# spectral entropy and dominant frequency are 0 when the bins' total power is below this: the
# window is flat (a full window's bins hold about half its variance), and float32 noise decides
# which bin of a flat window is largest
SPECTRUM_FLOOR = 1e-9
# bins whose power is within this fraction of the largest tie with it (the lowest such bin is the
# dominant one): exact ties are common (one nonzero sample in a window has a flat spectrum) and
# float rounding must not pick among them
DOMINANT_TIE = 1e-4
# the sensors an output can come from (`FeatureSpec.modalities`): IMU is always present, the
# thermopiles and ToF sensors are absent from about half the CMI test sequences
IMU, THM, TOF = "imu", "thm", "tof"


@dataclass(frozen=True)
class PhysicalRange:
    """The values one input role can take, ends included, in the spec's units (see the NaN policy)."""

    low: float
    high: float

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high  # NaN fails both comparisons


ACC_RANGE = PhysicalRange(-16.0 * STANDARD_GRAVITY_M_S2, 16.0 * STANDARD_GRAVITY_M_S2)  # m/s^2, after acc_scale
GYRO_RANGE = PhysicalRange(-35.0, 35.0)  # rad/s
QUAT_RANGE = PhysicalRange(-1.5, 1.5)  # each component
THM_RANGE = PhysicalRange(-70.0, 380.0)  # degC
TOF_RANGE = PhysicalRange(0.0, 254.0)  # valid returns; TOF_NO_RETURN (-1) is the sensor's "nothing seen"
EXTRA_RANGE = PhysicalRange(-1.0e6, 1.0e6)


class NanPolicy(Enum):
    HOLD_LAST = "hold_last"


class TiltSource(Enum):
    ORIENTATION = "orientation"  # device z against world up, from the quaternion
    ACCELEROMETER = "accelerometer"  # device z against the measured acc direction (no quaternion)


class RollingStat(Enum):
    MEAN = "mean"
    STD = "std"
    MIN = "min"
    MAX = "max"
    MEDIAN = "median"  # O(window) per sample on the device (a sorted insertion): for short windows


@dataclass(frozen=True)
class InputSpec:
    """Which raw columns play which role; `columns()` is the raw vector order the reference and
    the C bridge consume: acc, rot, gyro, thm, ToF pixels (sensor-major), extras."""

    acc: tuple[str, str, str] = ACC_COLUMNS
    acc_scale: float = 1.0  # multiply raw acc by this to get m/s^2 (9.80665 for data in g)
    rot: tuple[str, str, str, str] | None = ROT_COLUMNS  # w, x, y, z
    gyro: tuple[str, str, str] | None = None  # rad/s, body frame
    thm: tuple[str, ...] = ()
    tof_sensors: int = 0  # the first N sensors of cmi_schema.TOF_COLUMNS, 64 pixels each
    extra: tuple[str, ...] = ()  # passed through (held), available to windowed families

    def tof_columns(self) -> tuple[str, ...]:
        return TOF_COLUMNS[: self.tof_sensors * TOF_PIXELS]

    def columns(self) -> tuple[str, ...]:
        return self.acc + (self.rot or ()) + (self.gyro or ()) + self.thm + self.tof_columns() + self.extra


def input_ranges(inputs: InputSpec) -> tuple[PhysicalRange, ...]:
    """The physical range of every raw input column (`InputSpec.columns()` order) in the column's
    own units: acc's divided by `acc_scale`. The feature implementations test acc after scaling,
    the same test up to one rounding at the limit."""
    acc = PhysicalRange(ACC_RANGE.low / inputs.acc_scale, ACC_RANGE.high / inputs.acc_scale)
    return ((acc,) * 3 + (QUAT_RANGE,) * len(inputs.rot or ()) + (GYRO_RANGE,) * len(inputs.gyro or ())
            + (THM_RANGE,) * len(inputs.thm) + (TOF_RANGE,) * len(inputs.tof_columns())
            + (EXTRA_RANGE,) * len(inputs.extra))


def out_of_range(inputs: InputSpec, values: np.ndarray) -> np.ndarray:
    """Boolean mask of `values` (..., n_inputs) that are finite but outside their column's physical
    range: what the features treat as missing beyond NaN/Inf, i.e. implausible data. ToF's
    no-return code -1 is the sensor saying it saw nothing, so it is not counted."""
    low, high, tof = _range_arrays(inputs)
    x = np.asarray(values, dtype=np.float64)
    outside = np.isfinite(x) & ((x < low) | (x > high))
    outside[..., tof] &= x[..., tof] != TOF_NO_RETURN
    return outside


@lru_cache(maxsize=8)  # `edgekit stream` checks every sample
def _range_arrays(inputs: InputSpec) -> tuple[np.ndarray, np.ndarray, slice]:
    ranges = input_ranges(inputs)
    tof_at = 3 + len(inputs.rot or ()) + len(inputs.gyro or ()) + len(inputs.thm)
    return (np.array([r.low for r in ranges]), np.array([r.high for r in ranges]),
            slice(tof_at, tof_at + len(inputs.tof_columns())))


@dataclass(frozen=True)
class RawPassthrough:
    tof_pixels: bool = False  # also pass the 64 pixels of every ToF sensor through
    # the public CMI notebook's ToF scaling of those pixels, before standardisation
    # (`scale_tof_pixel`): no return (written -1) -> 10 and 0 -> -10; needs tof_pixels
    tof_scaling: bool = False


TOF_SCALED_NO_RETURN, TOF_SCALED_ZERO = 10.0, -10.0  # EK_TOF_SCALED_* in the C bridge


def scale_tof_pixel(value: float) -> float:
    """A passed-through ToF pixel (valid 0..254, missing written as -1) under `tof_scaling`:
    far from both the valid distances and each other once standardised, as the notebook had it."""
    if value == TOF_NO_RETURN:
        return TOF_SCALED_NO_RETURN
    return TOF_SCALED_ZERO if value == 0.0 else value


@dataclass(frozen=True)
class Jerk:
    channels: tuple[str, ...] = ("acc_mag",)  # backward difference / dt of each, named <ch>_jerk


@dataclass(frozen=True)
class Tilt:
    source: TiltSource = TiltSource.ORIENTATION


@dataclass(frozen=True)
class RollingStats:
    channels: tuple[str, ...]
    windows: tuple[int, ...] = (5, 20)
    stats: tuple[RollingStat, ...] = (RollingStat.MEAN, RollingStat.STD, RollingStat.MAX)


@dataclass(frozen=True)
class WindowedChannels:
    """Channels x windows, for rolling energy (mean of squares) and zero-crossing rate."""

    channels: tuple[str, ...]
    windows: tuple[int, ...] = (20,)


@dataclass(frozen=True)
class Correlation:
    pairs: tuple[tuple[str, str], ...]
    windows: tuple[int, ...] = (20,)


@dataclass(frozen=True)
class Stationarity:
    window: int = 20
    threshold: float = 0.1  # 1 when the rolling population std of acc_mag (m/s^2) is below this


@dataclass(frozen=True)
class BandPower:
    """|sum_m x_m e^{-i w m}|^2 / n^2 over the last n <= window samples, w = 2 pi f dt.
    Each frequency must be a DFT bin of the window (f * window * dt an integer in 1..window/2)
    so the phase repeats every `window` samples and the device can index a cos/sin table."""

    channels: tuple[str, ...]
    window: int = 25
    frequencies_hz: tuple[float, ...] = (2.0, 4.0, 6.0)

    def bins(self, sample_period_s: float) -> tuple[int, ...]:
        return tuple(int(round(f * self.window * sample_period_s)) for f in self.frequencies_hz)


@dataclass(frozen=True)
class Spectrum:
    """The shape of each channel's spectrum over the last n <= `window` samples, from the sliding
    DFT of `BandPower` (same sums, same 1/n^2 scaling) at every bin strictly between DC and
    Nyquist, k = 1 .. K = (window - 1) // 2, f_k = k / (window dt); DC is left out because it is
    the window's mean (rolling mean), which would dominate every motion channel. With P_k the
    bins' powers and P = sum P_k:
    - entropy: normalised Shannon entropy -sum p_k ln p_k / ln K, p_k = P_k / P (0 for one
      peak, 1 for a flat spectrum; 0 when K = 1);
    - dominant_frequency: f_k of the largest P_k (Hz); bins within DOMINANT_TIE of the largest
      tie with it, and the lowest of them wins;
    - bands_hz: per (low, high) range, the sum of P_k over the bins with low < f_k <= high
      (so 0-2 Hz and 2-5 Hz share no bin); `high` may not exceed Nyquist and a range must hold
      a bin.
    When P < SPECTRUM_FLOOR the window is flat: entropy and dominant frequency are 0."""

    channels: tuple[str, ...]
    window: int = 25
    entropy: bool = True
    dominant_frequency: bool = True
    bands_hz: tuple[tuple[float, float], ...] = ()

    @property
    def n_bins(self) -> int:
        return (self.window - 1) // 2

    def band_bins(self, sample_period_s: float) -> tuple[tuple[int, int], ...]:
        """(first, last) bin of each range in `bands_hz`; first > last when a range holds no bin."""
        scale = self.window * sample_period_s  # f * scale is the (fractional) bin index of f
        return tuple((math.floor(low * scale + 1e-9) + 1, min(self.n_bins, math.floor(high * scale + 1e-9)))
                     for low, high in self.bands_hz)


@dataclass(frozen=True)
class Families:
    """Enabled feature families, in output order. False/None disables a family."""

    raw: RawPassthrough | None = RawPassthrough()
    acc_magnitude: bool = True
    gyro_magnitude: bool = False
    rotation_angle: bool = False
    linear_acc: bool = False
    angular_velocity: bool = False
    angular_distance: bool = False
    tilt: Tilt | None = None
    euler: bool = False
    thermal: bool = False
    tof: bool = False
    jerk: Jerk | None = None
    jerk_magnitude: bool = False
    rolling: tuple[RollingStats, ...] = ()
    energy: WindowedChannels | None = None
    zero_crossings: WindowedChannels | None = None
    correlation: Correlation | None = None
    stationarity: Stationarity | None = None
    band_power: tuple[BandPower, ...] = ()
    spectrum: tuple[Spectrum, ...] = ()


# Families added after SPEC_FORMAT 1, with their "off" value: serialised only when on, so every
# spec that does not use them keeps the hash (and the JSON) it had before they existed.
LATER_FAMILIES: dict[str, Any] = {"jerk_magnitude": False, "spectrum": []}
LATER_OPTIONS: dict[str, dict[str, Any]] = {"raw": {"tof_scaling": False}}  # the same for options of a family


@with_config(FORBID)  # unknown keys are errors, in every object nested in a spec
@dataclass(frozen=True)
class FeatureSpec:
    inputs: InputSpec = InputSpec()
    sample_period_s: float = SIM_SAMPLE_PERIOD_S
    gravity: float = GRAVITY_M_S2
    nan_policy: NanPolicy = NanPolicy.HOLD_LAST
    mirror: bool = False  # mirror left-handed (handedness 0) sequences into the right-hand frame
    families: Families = field(default_factory=Families)
    # families an automatic spec left out, each with the reason (e.g. no band-power bin below
    # Nyquist); a note for the reader: serialised only when non-empty and never hashed
    omitted: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        catalog.validate(self)

    # --- what the spec produces -------------------------------------------------------------
    def input_columns(self) -> tuple[str, ...]:
        return self.inputs.columns()

    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in catalog.feature_table(self))

    def units(self) -> tuple[str, ...]:
        return tuple(unit for _, unit in catalog.feature_table(self))

    def modalities(self) -> tuple[str, ...]:
        """The sensor each output reads, in `names()` order: `THM` when it reads a thermopile,
        `TOF` when it reads a time-of-flight sensor (ToF wins for an output that reads both), else
        `IMU` (acc, rot, gyro and extra pass-through channels: what every sequence has). Models
        route outputs to their sensor branch by it, and an IMU-only sequence is one whose `THM`
        and `TOF` outputs all hold their missing values."""
        inputs = self.inputs
        thm = {f"thm_{k}" for k in range(1, len(inputs.thm) + 1)}
        thm |= {f"{name}_missing" for name in thm} | ({f"thm_{s}" for s in catalog.THM_STATS} if inputs.thm else set())
        tof = {f"tof_{k}_{s}" for k in range(1, inputs.tof_sensors + 1) for s in catalog.TOF_STATS}
        tof |= set(inputs.tof_columns())

        def reads(name: str, signals: set[str]) -> bool:
            # an output is its signal, or named after it: `<signal>_<suffix>` (jerk, rolling,
            # energy, spectra, ...) or, as a correlation's second signal, `<a>_<signal>_corr<w>`
            return any(name == s or name.startswith(s + "_") or f"_{s}_corr" in name for s in signals)

        return tuple(TOF if reads(n, tof) else THM if reads(n, thm) else IMU for n in self.names())

    # --- identity and serialisation ---------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        plain = to_plain(self)
        if not plain.get("omitted"):
            plain.pop("omitted", None)  # specs without notes serialise (and hash) as before the field existed
        for name, off in LATER_FAMILIES.items():
            if plain["families"].get(name) == off:
                del plain["families"][name]
        for family, options in LATER_OPTIONS.items():
            table = plain["families"].get(family)
            for name, off in options.items() if isinstance(table, dict) else ():
                if table.get(name) == off:
                    del table[name]
        return {"format": SPEC_FORMAT, **plain}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FeatureSpec":
        data = dict(data)
        found = data.pop("format", SPEC_FORMAT)
        if found != SPEC_FORMAT:
            raise SpecError(f"feature spec format {found!r}; this edgekit reads format {SPEC_FORMAT}")
        return parse(cls, data, "feature spec", error=SpecError)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> "FeatureSpec":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpecError(f"feature spec is not valid JSON: {exc}") from None
        return cls.from_dict(data)

    def hash(self) -> str:
        """16 hex digits of sha256 over canonical JSON (sorted keys, no whitespace)."""
        identity = {k: v for k, v in self.to_dict().items() if k != "omitted"}  # what is computed, not the notes
        canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def with_families(self, **changes: Any) -> "FeatureSpec":
        return replace(self, families=replace(self.families, **changes))

    def inputs_only(self) -> "FeatureSpec":
        """The same inputs, cleaned as the spec cleans them (missing values held, acc in m/s^2),
        and no derived feature: the raw channels, computed by the same pipelines and C bridge, so
        a model trained on them streams like any other."""
        return replace(self, families=Families(raw=RawPassthrough(), acc_magnitude=False), omitted=())

    # --- presets ----------------------------------------------------------------------------
    @classmethod
    def cmi_default(cls) -> "FeatureSpec":
        """Compact device spec for CMI-schema data at the simulator's 50 Hz: every family that
        applies; ToF only as per-sensor aggregates; left-handed wearers mirrored."""
        inputs = InputSpec(acc=ACC_COLUMNS, rot=ROT_COLUMNS, thm=THM_COLUMNS, tof_sensors=TOF_SENSORS)
        return cls(inputs=inputs, sample_period_s=SIM_SAMPLE_PERIOD_S, mirror=True,
                   families=default_families(inputs, SIM_SAMPLE_PERIOD_S))

    @classmethod
    def uci_har_default(cls) -> "FeatureSpec":
        """UCI-HAR at 50 Hz: acc in g from total_acc_*, gyro from body_gyro_*, no quaternion."""
        inputs = InputSpec(acc=("total_acc_x", "total_acc_y", "total_acc_z"), acc_scale=STANDARD_GRAVITY_M_S2,
                           rot=None, gyro=("body_gyro_x", "body_gyro_y", "body_gyro_z"))
        return cls(inputs=inputs, sample_period_s=0.02, families=default_families(inputs, 0.02))

    @classmethod
    def for_channels(cls, channels: Sequence[str], sample_period_s: float, *, units: Sequence[str] | None = None,
                     mirror: bool = False, longest: int | None = None) -> "FeatureSpec":
        """A default spec for data with these channel names: roles are recognised by name (CMI,
        UCI-HAR, Edge Impulse and other common spellings: `channel_names.py`), other channels pass
        through as extras. Acc in unit "g" is scaled; a gyro in degrees/s passes through.
        Windows follow `default_families` (durations, clamped to `longest` samples)."""
        return _spec_for_channels(cls, tuple(channels), sample_period_s, units, mirror, longest)

    @classmethod
    def for_dataset(cls, ds: "SequenceDataset", *, mirror: bool | None = None) -> "FeatureSpec":
        """`for_channels` on a SequenceDataset; mirrors when it carries handedness (unless told)."""
        has_handedness = "handedness" in ds.extras or (
            ds.demographics is not None and "handedness" in ds.demographics.columns)
        return cls.for_channels(ds.channels, ds.sample_period_s, units=ds.units,
                                mirror=has_handedness if mirror is None else mirror,
                                longest=int(ds.lengths.max()) if len(ds) else None)


# Default windows are durations, so a feature means the same at 5 Hz and at 1 kHz; in samples
# each is at least a floor that still measures something and at most the longest sequence (a
# window that never fills only repeats the shorter one). At 50 Hz: rolling 5 and 20 samples,
# band power 25 samples with bins at 2, 4 and 6 Hz.
ROLLING_SHORT_S, ROLLING_LONG_S, BAND_POWER_S = 0.1, 0.4, 0.5
MIN_STAT_WINDOW = 3  # samples: the fewest for a spread, a crossing rate or a correlation to mean much
MIN_BAND_WINDOW = 8  # samples: the fewest whose DFT has the 3 bins below Nyquist
BAND_BINS = (1, 2, 3)


def default_families(inputs: InputSpec, sample_period_s: float, longest: int | None = None) -> Families:
    """Every family that applies to these inputs, with edgekit's default parameters, valid for
    any sample rate and for sequences of at most `longest` samples (None: no limit)."""
    return _default_families(inputs, sample_period_s, longest)[0]


def _window(seconds: float, dt: float, floor: int, longest: int | None) -> int:
    n = max(floor, int(round(seconds / dt)))
    return n if longest is None else max(1, min(n, longest))


def _default_families(inputs: InputSpec, dt: float, longest: int | None) -> tuple[Families, tuple[str, ...]]:
    """`default_families` and the reasons for the families it leaves out."""
    has_rot, has_gyro = inputs.rot is not None, inputs.gyro is not None
    motion = "linacc_mag" if has_rot else "acc_mag"  # movement without gravity where we can
    turning = "angdist" if has_rot else ("gyro_mag" if has_gyro else None)
    axes = ("linacc_x", "linacc_y", "linacc_z") if has_rot else ("gyro_x", "gyro_y", "gyro_z") if has_gyro else ()
    pairs = (("acc_x", "acc_y"), ("acc_y", "acc_z"), ("acc_x", "acc_z")) + (((motion, turning),) if turning else ())
    omitted: list[str] = []
    short = _window(ROLLING_SHORT_S, dt, MIN_STAT_WINDOW, longest)
    long = _window(ROLLING_LONG_S, dt, 2 * MIN_STAT_WINDOW, longest)
    windowed = short >= MIN_STAT_WINDOW
    if not windowed:
        omitted.append(f"rolling, energy, zero_crossings, correlation, stationarity: sequences of at most {longest} "
                       f"samples are shorter than the {MIN_STAT_WINDOW}-sample minimum window")
    bp_window = _window(BAND_POWER_S, dt, MIN_BAND_WINDOW, longest)
    bins = tuple(k for k in BAND_BINS if 2 * k < bp_window)  # strictly below Nyquist (k = window / 2)
    if not bins:
        omitted.append(f"band_power: a {bp_window}-sample window (sequences of at most {longest} samples) has no "
                       f"DFT bin below Nyquist; it needs at least 3 samples")
    band_power = (BandPower((motion,), bp_window, tuple(round(k / (bp_window * dt), 9) for k in bins)),) if bins else ()
    stat_windows = tuple(sorted({short, long}))
    families = Families(
        raw=RawPassthrough(),
        acc_magnitude=True,
        gyro_magnitude=has_gyro,
        rotation_angle=has_rot,
        linear_acc=has_rot,
        angular_velocity=has_rot,
        angular_distance=has_rot,
        tilt=Tilt(TiltSource.ORIENTATION if has_rot else TiltSource.ACCELEROMETER),
        euler=has_rot,
        thermal=len(inputs.thm) > 0,
        tof=inputs.tof_sensors > 0,
        jerk=Jerk(("acc_mag",) + (("linacc_x", "linacc_y", "linacc_z") if has_rot else ("acc_x", "acc_y", "acc_z"))),
        rolling=(RollingStats(tuple(dict.fromkeys(c for c in ("acc_mag", motion, turning) if c)), stat_windows),)
        if windowed else (),
        energy=WindowedChannels(axes, (long,)) if axes and windowed else None,
        zero_crossings=WindowedChannels(axes, (long,)) if axes and windowed else None,
        correlation=Correlation(pairs, (long,)) if windowed else None,
        stationarity=Stationarity(window=long) if windowed else None,
        band_power=band_power,
    )
    return families, tuple(omitted)


def _spec_for_channels(cls, channels: tuple[str, ...], dt: float, units: Sequence[str] | None,
                       mirror: bool, longest: int | None) -> FeatureSpec:
    def present(cols: tuple[str, ...]) -> bool:
        return all(c in channels for c in cols)

    acc = channel_names.find_axes(channels, channel_names.ACC_STEMS)
    if acc is None:
        raise SpecError(f"no accelerometer channels among {list(channels)}; expected x/y/z axes named "
                        f"{channel_names.names_hint(channel_names.ACC_STEMS)}")
    unit_of = dict(zip(channels, units)) if units is not None else {}
    acc_scale = STANDARD_GRAVITY_M_S2 if unit_of.get(acc[0], "").strip().lower() == "g" else 1.0
    rot = ROT_COLUMNS if present(ROT_COLUMNS) else None
    gyro = None if rot else channel_names.find_axes(channels, channel_names.GYRO_STEMS)
    gyro_note: tuple[str, ...] = ()
    if gyro is not None and channel_names.in_degrees(unit_of.get(gyro[0], "")):
        gyro_note = (f"gyro: {', '.join(gyro)} are in {unit_of[gyro[0]]}, the spec's gyro is rad/s; passed through "
                     "as extra channels",)
        gyro = None
    thm = tuple(c for c in THM_COLUMNS if c in channels)
    tof_sensors = 0
    while tof_sensors < TOF_SENSORS and present(TOF_COLUMNS[tof_sensors * TOF_PIXELS:(tof_sensors + 1) * TOF_PIXELS]):
        tof_sensors += 1
    used = set(acc) | set(rot or ()) | set(gyro or ()) | set(thm) | set(TOF_COLUMNS[: tof_sensors * TOF_PIXELS])
    extra = tuple(c for c in channels if c not in used and not c.startswith("tof_"))
    inputs = InputSpec(acc=acc, acc_scale=acc_scale, rot=rot, gyro=gyro, thm=thm, tof_sensors=tof_sensors, extra=extra)
    families, omitted = _default_families(inputs, dt, longest)
    return cls(inputs=inputs, sample_period_s=dt, mirror=mirror, families=families, omitted=gyro_note + omitted)
