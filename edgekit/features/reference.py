"""`StreamingFeatures`: the pure-Python streaming reference, sample by sample.

This is the executable specification the C99 firmware bridge transcribes: plain Python and
`math`, one raw sample in (`spec.input_columns()` order), one feature vector out (`spec.names()`
order), all state explicit and of fixed size (the held sample, the previous orientation and
signals, ring buffers and window accumulators from `windows.py`). The Polars batch pipeline must
equal it to 1e-6; see `spec.py` for the NaN policy and conventions it implements.

Per sample: (1) mirror the raw vector for a left-handed wearer, (2) clean it under the NaN policy
(hold, normalise, make the quaternion sign-continuous), (3) compute the per-sample signals from
the cleaned sample and the previous one, (4) push signals into the windowed families.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np

from edgekit.errors import DataError
from edgekit.features import catalog
from edgekit.features.mirror import mirror_plan, mirror_sample
from edgekit.features.spec import (
    ACC_RANGE,
    DOMINANT_TIE,
    EXTRA_RANGE,
    GYRO_RANGE,
    QUAT_MIN_NORM,
    QUAT_RANGE,
    SPECTRUM_FLOOR,
    THM_RANGE,
    TOF_RANGE,
    VARIANCE_FLOOR,
    FeatureSpec,
    RollingStat,
    Spectrum,
    TiltSource,
    scale_tof_pixel,
)
from edgekit.features.windows import (
    SlidingCorrelation,
    SlidingDft,
    SlidingExtremum,
    SlidingMedian,
    SlidingMoments,
    SlidingSum,
)

TWO_PI = 2.0 * math.pi
SMALL_ROTATION = 1e-12  # below this |v| of a relative quaternion, angle/|v| is taken as its limit 2
MIN_ACC_NORM = 1e-9  # below this the accelerometer gives no gravity direction (tilt 0)


def wrap_angle(d: float) -> float:
    """An angle difference of two values in (-pi, pi] wrapped into (-pi, pi]."""
    if d > math.pi:
        return d - TWO_PI
    if d <= -math.pi:
        return d + TWO_PI
    return d


def spectrum_values(sp: Spectrum, powers: list[float], dt: float) -> list[float]:
    """A `Spectrum` channel's outputs (entropy, dominant frequency, band sums, as enabled) from
    the powers of its bins 1..K."""
    total = 0.0
    for power in powers:
        total += power
    flat = total < SPECTRUM_FLOOR
    values = []
    if sp.entropy:
        entropy = 0.0
        if not flat and len(powers) > 1:
            for power in powers:
                p = power / total
                if p > 0.0:
                    entropy -= p * math.log(p)
            entropy /= math.log(len(powers))
        values.append(entropy)
    if sp.dominant_frequency:
        largest = max(powers)
        best = 0
        while powers[best] < largest * (1.0 - DOMINANT_TIE):  # the lowest bin that ties with the largest
            best += 1
        values.append(0.0 if flat else (best + 1) / (sp.window * dt))
    for first, last in sp.band_bins(dt):
        band = 0.0
        for k in range(first, last + 1):
            band += powers[k - 1]
        values.append(band)
    return values


def _valid_stats(values: list[float], count_of: int) -> tuple[float, float, float, float, float]:
    """mean, population std (two-pass), min, max, valid fraction; all 0 when nothing is valid."""
    n = len(values)
    if n == 0:
        return 0.0, 0.0, 0.0, 0.0, 0.0
    total = 0.0
    for v in values:
        total += v
    mean = total / n
    squares = 0.0
    for v in values:
        squares += (v - mean) * (v - mean)
    return mean, math.sqrt(squares / n), min(values), max(values), n / count_of


def _tof_stats(values: list[float], count_of: int) -> tuple[float, float, float, float, float]:
    """Like _valid_stats, but the variance in the sums form (n sum x^2 - (sum x)^2) / n^2: ToF
    pixels are integers, so the device sums them exactly in int32 and this is exact too."""
    n = len(values)
    if n == 0:
        return 0.0, 0.0, 0.0, 0.0, 0.0
    total = squares = 0.0
    for v in values:
        total += v
        squares += v * v
    variance = max((n * squares - total * total) / (n * n), 0.0)
    return total / n, math.sqrt(variance), min(values), max(values), n / count_of


class StreamingFeatures:
    def __init__(self, spec: FeatureSpec, handedness: int = 1) -> None:
        self.spec = spec
        self.names = spec.names()
        self.n_inputs = len(spec.input_columns())
        self._mirror = mirror_plan(spec.inputs) if spec.mirror and int(handedness) == 0 else None
        inp = spec.inputs
        self._acc_at = 0
        self._rot_at = 3
        self._gyro_at = self._rot_at + (4 if inp.rot else 0)
        self._thm_at = self._gyro_at + (3 if inp.gyro else 0)
        self._tof_at = self._thm_at + len(inp.thm)
        self._extra_at = self._tof_at + len(inp.tof_columns())
        self._signal_names = tuple(catalog.per_sample_signals(spec))
        self.reset()

    # --- state --------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget the sequence: the next sample is a first sample."""
        inp, fam = self.spec.inputs, self.spec.families
        self.t = 0
        self.acc = [0.0, 0.0, 0.0]
        self.gyro = [0.0, 0.0, 0.0]
        self.q = [1.0, 0.0, 0.0, 0.0]  # held, normalised, sign-continuous orientation
        self.thm = [0.0] * len(inp.thm)
        self.extra = [0.0] * len(inp.extra)
        self.prev: dict[str, float] = {}  # last sample's per-sample signals (for differences)
        self.prev_q = list(self.q)
        extremes = (RollingStat.MAX, RollingStat.MIN)
        # one Welford state per (channel, window) serves both its mean and its std
        self.moments = {(c, w): SlidingMoments(w) for g in fam.rolling for c in g.channels for w in g.windows
                        if any(s in (RollingStat.MEAN, RollingStat.STD) for s in g.stats)}
        self.medians = {(c, w): SlidingMedian(w) for g in fam.rolling for c in g.channels for w in g.windows
                        if RollingStat.MEDIAN in g.stats}
        self.extrema = {(c, w, s): SlidingExtremum(w, s is RollingStat.MAX)
                        for g in fam.rolling for c in g.channels for w in g.windows for s in g.stats if s in extremes}
        en = fam.energy
        self.energy = {(c, w): SlidingSum(w) for c in en.channels for w in en.windows} if en else {}
        zc = fam.zero_crossings
        self.crossings = {(c, w): SlidingSum(w) for c in zc.channels for w in zc.windows} if zc else {}
        cr = fam.correlation
        self.correlations = {(a, b, w): SlidingCorrelation(w, VARIANCE_FLOOR)
                             for a, b in cr.pairs for w in cr.windows} if cr else {}
        st = fam.stationarity
        self.stationarity = SlidingMoments(st.window) if st else None
        self.band_power = [(bp, c, SlidingDft(bp.window, bp.bins(self.spec.sample_period_s)))
                           for bp in fam.band_power for c in bp.channels]
        self.spectra = [(sp, c, SlidingDft(sp.window, tuple(range(1, sp.n_bins + 1))))
                        for sp in fam.spectrum for c in sp.channels]

    # --- one sample ---------------------------------------------------------------------------
    def push(self, sample: Sequence[float]) -> list[float]:
        if len(sample) != self.n_inputs:
            raise DataError(f"sample has {len(sample)} values; expected {self.n_inputs} "
                            f"in spec.input_columns() order")
        x = [math.nan if v is None else float(v) for v in sample]  # None (a null) is missing too
        if self._mirror is not None:
            x = mirror_sample(x, self._mirror)
        out = self._clean(x)
        self._signals(out)
        self._windowed(out)
        self.prev = {name: out[name] for name in self._signal_names}
        self.prev_q = list(self.q)
        self.t += 1
        return [out[name] for name in self.names]

    def push_many(self, rows: Iterable[Sequence[float]]) -> np.ndarray:
        """Push every row; (T, F) float64 features."""
        result = [self.push(row) for row in rows]
        return np.array(result, dtype=np.float64).reshape(len(result), len(self.names))

    # --- (2) NaN policy (NaN, Inf and values outside the physical range are missing), and the
    # aggregates of the current sample's thermopiles and ToF pixels --------------------------------
    def _clean(self, x: list[float]) -> dict[str, float]:
        inp = self.spec.inputs
        out: dict[str, float] = {}
        acc = [v * inp.acc_scale for v in x[self._acc_at:self._acc_at + 3]]
        if all(ACC_RANGE.contains(v) for v in acc):
            self.acc = acc
        out["acc_x"], out["acc_y"], out["acc_z"] = self.acc
        if inp.rot is not None:
            self._clean_quaternion(x[self._rot_at:self._rot_at + 4])
            out["rot_w"], out["rot_x"], out["rot_y"], out["rot_z"] = self.q
        if inp.gyro is not None:
            gyro = x[self._gyro_at:self._gyro_at + 3]
            if all(GYRO_RANGE.contains(v) for v in gyro):
                self.gyro = gyro
            out["gyro_x"], out["gyro_y"], out["gyro_z"] = self.gyro
        thm_raw = x[self._thm_at:self._tof_at]
        for k, v in enumerate(thm_raw):
            if THM_RANGE.contains(v):
                self.thm[k] = v
            out[f"thm_{k + 1}"] = self.thm[k]
            out[f"thm_{k + 1}_missing"] = 0.0 if THM_RANGE.contains(v) else 1.0
        if thm_raw:
            valid = [v for v in thm_raw if THM_RANGE.contains(v)]
            stats = _valid_stats(valid, len(thm_raw))
            for name, value in zip(catalog.THM_STATS, stats):
                out[f"thm_{name}"] = value
        for s in range(inp.tof_sensors):
            pixels = x[self._tof_at + 64 * s:self._tof_at + 64 * (s + 1)]
            valid = [v for v in pixels if TOF_RANGE.contains(v)]
            for name, value in zip(catalog.TOF_STATS, _tof_stats(valid, len(pixels))):
                out[f"tof_{s + 1}_{name}"] = value
            if self.spec.families.raw is not None and self.spec.families.raw.tof_pixels:
                scaled = self.spec.families.raw.tof_scaling
                for p, v in enumerate(pixels):
                    kept = v if TOF_RANGE.contains(v) else -1.0
                    out[f"tof_{s + 1}_v{p}"] = scale_tof_pixel(kept) if scaled else kept
        for k, name in enumerate(inp.extra):
            v = x[self._extra_at + k]
            if EXTRA_RANGE.contains(v):
                self.extra[k] = v
            out[name] = self.extra[k]
        return out

    def _clean_quaternion(self, q: list[float]) -> None:
        if not all(QUAT_RANGE.contains(v) for v in q):
            return  # hold: missing or outside the physical range
        w, x, y, z = q
        norm = math.sqrt(w * w + x * x + y * y + z * z)
        if norm < QUAT_MIN_NORM:
            return  # hold
        q = [w / norm, x / norm, y / norm, z / norm]
        p = self.q
        if p[0] * q[0] + p[1] * q[1] + p[2] * q[2] + p[3] * q[3] < 0.0:  # q and -q: stay continuous
            q = [-v for v in q]
        self.q = q

    # --- (3) per-sample signals ---------------------------------------------------------------
    def _signals(self, out: dict[str, float]) -> None:
        spec, dt, first = self.spec, self.spec.sample_period_s, self.t == 0
        ax, ay, az = out["acc_x"], out["acc_y"], out["acc_z"]
        out["acc_mag"] = math.sqrt(ax * ax + ay * ay + az * az)
        if spec.inputs.gyro is not None:
            gx, gy, gz = self.gyro
            out["gyro_mag"] = math.sqrt(gx * gx + gy * gy + gz * gz)
        if spec.inputs.rot is not None:
            self._orientation_signals(out, first)
        tilt = spec.families.tilt
        if tilt is not None:
            if tilt.source is TiltSource.ORIENTATION:
                _, x, y, _ = self.q
                cos_tilt = 1.0 - 2.0 * (x * x + y * y)
            else:
                mag = out["acc_mag"]
                cos_tilt = az / mag if mag > MIN_ACC_NORM else 1.0
            out["tilt"] = math.acos(min(1.0, max(-1.0, cos_tilt)))
            out["tilt_rate"] = 0.0 if first else (out["tilt"] - self.prev["tilt"]) / dt

    def _orientation_signals(self, out: dict[str, float], first: bool) -> None:
        dt, g = self.spec.sample_period_s, self.spec.gravity
        w, x, y, z = self.q
        out["rot_angle"] = 2.0 * math.acos(min(1.0, abs(w)))
        # gravity in the device frame is R(q)^T (0, 0, 1): the third row of R(q)
        gx, gy, gz = 2.0 * (x * z - w * y), 2.0 * (y * z + w * x), 1.0 - 2.0 * (x * x + y * y)
        lx, ly, lz = out["acc_x"] - g * gx, out["acc_y"] - g * gy, out["acc_z"] - g * gz
        out["linacc_x"], out["linacc_y"], out["linacc_z"] = lx, ly, lz
        out["linacc_mag"] = math.sqrt(lx * lx + ly * ly + lz * lz)
        # relative rotation dq = conj(q_prev) * q in the body frame; w >= 0 by sign continuity
        pw, px, py, pz = self.prev_q
        dw = pw * w + px * x + py * y + pz * z
        dx = pw * x - px * w - py * z + pz * y
        dy = pw * y + px * z - py * w - pz * x
        dz = pw * z - px * y + py * x - pz * w
        vnorm = math.sqrt(dx * dx + dy * dy + dz * dz)
        angle = 2.0 * math.atan2(vnorm, dw)
        per_v = angle / vnorm if vnorm > SMALL_ROTATION else 2.0
        if first:
            out["angvel_x"] = out["angvel_y"] = out["angvel_z"] = out["angdist"] = 0.0
        else:
            out["angvel_x"], out["angvel_y"], out["angvel_z"] = per_v * dx / dt, per_v * dy / dt, per_v * dz / dt
            out["angdist"] = angle
        # Euler angles, intrinsic z-y'-x'' (yaw, pitch, roll): R = Rz(yaw) Ry(pitch) Rx(roll)
        out["roll"] = math.atan2(2.0 * (w * x + y * z), 1.0 - 2.0 * (x * x + y * y))
        out["pitch"] = math.asin(min(1.0, max(-1.0, 2.0 * (w * y - x * z))))
        out["yaw"] = math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))
        for e in catalog.EULER:
            out[f"{e}_rate"] = 0.0 if first else wrap_angle(out[e] - self.prev[e]) / dt

    # --- (4) windowed families ----------------------------------------------------------------
    def _windowed(self, out: dict[str, float]) -> None:
        fam, dt, first = self.spec.families, self.spec.sample_period_s, self.t == 0
        if fam.jerk is not None:
            for c in fam.jerk.channels:
                out[f"{c}_jerk"] = 0.0 if first else (out[c] - self.prev[c]) / dt
        if fam.jerk_magnitude:
            if first:
                out["acc_jerk_mag"] = 0.0
            else:
                dx, dy, dz = (out[f"acc_{a}"] - self.prev[f"acc_{a}"] for a in catalog.XYZ)
                out["acc_jerk_mag"] = math.sqrt(dx * dx + dy * dy + dz * dz) / dt
        for (c, w), moments in self.moments.items():
            moments.push(out[c])
            out[f"{c}_roll{w}_{RollingStat.MEAN.value}"] = moments.mean
            out[f"{c}_roll{w}_{RollingStat.STD.value}"] = moments.std()
        for (c, w, s), extremum in self.extrema.items():
            out[f"{c}_roll{w}_{s.value}"] = extremum.push(out[c])
        for (c, w), median in self.medians.items():
            out[f"{c}_roll{w}_{RollingStat.MEDIAN.value}"] = median.push(out[c])
        for (c, w), tracker in self.energy.items():
            out[f"{c}_energy{w}"] = tracker.push(out[c] * out[c])
        for (c, w), tracker in self.crossings.items():
            crossed = not first and self.prev[c] * out[c] < 0.0
            out[f"{c}_zcr{w}"] = tracker.push(1.0 if crossed else 0.0)
        for (a, b, w), tracker in self.correlations.items():
            out[f"{a}_{b}_corr{w}"] = tracker.push(out[a], out[b])
        if self.stationarity is not None:
            st = fam.stationarity
            self.stationarity.push(out["acc_mag"])
            out[f"stationary{st.window}"] = 1.0 if self.stationarity.std() < st.threshold else 0.0
        for bp, c, dft in self.band_power:
            for f, power in zip(bp.frequencies_hz, dft.push(out[c])):
                out[f"{c}_bp{catalog.bp_freq_label(f)}hz_w{bp.window}"] = power
        for sp, c, dft in self.spectra:
            names = catalog.spectrum_names(c, sp.window, sp.entropy, sp.dominant_frequency, sp.bands_hz)
            out.update(zip(names, spectrum_values(sp, dft.push(out[c]), dt)))
