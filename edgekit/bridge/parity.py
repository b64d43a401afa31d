"""How close the float32 C bridge must be to the float64 streaming reference, and the check.

Tolerance, per value: |c - ref| <= RTOL * max(1, |ref|) + slack, RTOL = 1e-5.

`slack` is the reference's own sensitivity to float32 rounding of its inputs: the reference is
re-run on the same stream with every input moved by one float32 ulp (relative 2^-24): once with
the sign alternating from sample to sample (a backward difference's worst case: both ends moved
apart) and random across columns, then with independent random signs per value (what rounding
does; a smooth signal is blind to an alternating pattern), `PERTURBATION_RUNS` runs in all;
slack = SLACK_FACTOR * the largest change of that value. A value inside its physical range stays
inside (clipped to the limit): rounding cannot make a valid sample missing, and a 254 ToF pixel
moved to 254.00002 would otherwise open a slack of the whole ToF range.
For well-conditioned features the change is ~1e-7 relative and slack vanishes under RTOL; it
only opens where float32 cannot hold 1e-5 by construction:
- backward differences divided by dt (jerk and its magnitude, angular velocity, Euler and tilt
  rates): a float32 signal of magnitude S is known to u*S, its difference over dt = 0.02 s to
  ~100*u*S/1;
- correlation and std of a nearly constant window (variance near its float32 noise floor).
SLACK_FACTOR = 8 covers the few roundings the C makes per value beyond the input's one ulp.
Because a random perturbation can miss the worst case at a given sample, backward differences
also get a deterministic floor: DIFF_ROUNDINGS * u * S / dt, with S the float32 magnitude of
what is differenced (|acc| for acc-derived channels, 2 pi for angles, the channel's range for
others; values outside their physical range are missing and do not count): the resolution of
a float32 signal divided by the sample period.
A formula error, a wrong window or a state bug moves a value by far more (1e-3 and up).
Angles that live on a circle (roll, yaw) are compared modulo 2 pi.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgekit.features.reference import StreamingFeatures
from edgekit.features.spec import FeatureSpec, input_ranges, out_of_range

RTOL = 1e-5
SLACK_FACTOR = 8.0
PERTURBATION_RUNS = 3
ULP32 = 2.0 ** -24
DIFF_ROUNDINGS = 4.0
CIRCULAR = ("roll", "yaw")
ANGLE_SIGNALS = ("rot_", "angvel_", "angdist", "roll", "pitch", "yaw", "tilt")


def reference_features(spec: FeatureSpec, samples: np.ndarray, handedness: int) -> np.ndarray:
    """The float64 reference on one sequence (samples as the C sees them: float32 values)."""
    x = np.asarray(samples, dtype=np.float32).astype(np.float64)
    return StreamingFeatures(spec, handedness=handedness).push_many(x)


def perturbation_slack(spec: FeatureSpec, samples: np.ndarray, handedness: int, reference: np.ndarray,
                       runs: int = PERTURBATION_RUNS, seed: int = 0) -> np.ndarray:
    """SLACK_FACTOR * max |reference(perturbed inputs) - reference|, per value."""
    x = np.asarray(samples, dtype=np.float32).astype(np.float64)
    rng = np.random.default_rng(seed)
    change = np.zeros_like(reference)
    for run in range(runs):
        if run == 0:  # worst case for differences: neighbouring samples moved apart
            alternating = np.where(np.arange(len(x)) % 2 == 0, 1.0, -1.0)[:, None]
            sign = alternating * rng.choice([-1.0, 1.0], size=(1, x.shape[1]))
        else:  # like rounding: independent per value (smooth signals are blind to alternation)
            sign = rng.choice([-1.0, 1.0], size=x.shape)
        with np.errstate(invalid="ignore"):
            moved = StreamingFeatures(spec, handedness=handedness).push_many(_perturbed(spec, x, sign))
        change = np.maximum(change, _difference(spec, moved, reference))
    return np.maximum(SLACK_FACTOR * change, difference_floor(spec, samples)[None, :])


def _perturbed(spec: FeatureSpec, x: np.ndarray, sign: np.ndarray) -> np.ndarray:
    """x moved by one float32 ulp in the direction `sign`, values inside their physical range kept inside."""
    ranges = input_ranges(spec.inputs)
    low, high = np.array([r.low for r in ranges]), np.array([r.high for r in ranges])
    moved = x * (1.0 + sign * ULP32)
    inside = (x >= low) & (x <= high)
    return np.where(inside, np.clip(moved, low, high), moved)


def is_backward_difference(spec: FeatureSpec, name: str) -> bool:
    jerk_channels = spec.families.jerk.channels if spec.families.jerk else ()
    return (name.endswith("_rate") or name.startswith("angvel_")
            or (name.endswith("_jerk") and name[:-5] in jerk_channels)
            or (name == "acc_jerk_mag" and spec.families.jerk_magnitude))


def difference_floor(spec: FeatureSpec, samples: np.ndarray) -> np.ndarray:
    """Per-feature floor (F,) for backward-difference features; 0 for the others."""
    x = np.asarray(samples, dtype=np.float64)
    x = np.where(out_of_range(spec.inputs, x), np.nan, x)  # missing: not part of any signal
    cols = spec.input_columns()
    inputs = spec.inputs

    def scale(names: tuple[str, ...], factor: float = 1.0) -> float:
        idx = [cols.index(n) for n in names if n in cols]
        vals = np.abs(x[:, idx]) if idx else np.zeros((0,))
        vals = vals[np.isfinite(vals)]
        return float(vals.max() * factor) if vals.size else 0.0

    acc = scale(inputs.acc, inputs.acc_scale) * np.sqrt(3.0) + spec.gravity
    gyro = scale(inputs.gyro or ()) * np.sqrt(3.0)
    floors = np.zeros(len(spec.names()))
    for j, name in enumerate(spec.names()):
        if not is_backward_difference(spec, name):
            continue
        if name.endswith("_rate") or name.startswith("angvel_"):
            s = 2.0 * np.pi
        elif name == "acc_jerk_mag":  # |acc_t - acc_{t-1}|: acc's resolution, as acc_x_jerk
            s = acc
        else:
            c = name[:-5]
            if c.startswith(("acc_", "linacc_")):
                s = acc
            elif c.startswith("gyro_"):
                s = gyro
            elif c.startswith(ANGLE_SIGNALS):
                s = 2.0 * np.pi
            elif c.startswith("tof_"):
                s = 255.0
            elif c.startswith("thm_"):
                s = scale(inputs.thm)
            else:
                s = scale(inputs.extra)
        floors[j] = DIFF_ROUNDINGS * ULP32 * s / spec.sample_period_s
    return floors


def _difference(spec: FeatureSpec, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))
    for j, name in enumerate(spec.names()):
        if name in CIRCULAR:
            d[:, j] = np.minimum(d[:, j], np.abs(d[:, j] - 2.0 * np.pi))
    return d


@dataclass
class ParityReport:
    n_values: int
    n_bad: int
    n_needing_slack: int  # values of non-difference features outside RTOL alone, inside RTOL + slack
    n_differences_needing_slack: int  # the same for backward differences (jerk, rates, angvel)
    worst_feature: str
    worst_excess: float  # max |c - ref| / tolerance
    first_bad: str  # where the first failure is, for the assertion message
    max_error_by_feature: dict[str, float]

    @property
    def ok(self) -> bool:
        return self.n_bad == 0


def compare(spec: FeatureSpec, c: np.ndarray, reference: np.ndarray, slack: np.ndarray | float = 0.0,
            rtol: float = RTOL) -> ParityReport:
    """Check C features against the reference under the tolerance above."""
    names = spec.names()
    c64 = np.asarray(c, dtype=np.float64)
    err = _difference(spec, c64, reference)
    err = np.where(np.isnan(c64) != np.isnan(reference), np.inf, np.nan_to_num(err, nan=0.0))
    base = rtol * np.maximum(1.0, np.abs(reference))
    tol = base + slack
    is_difference = np.array([is_backward_difference(spec, n) for n in names], dtype=bool)
    slacked = (err > base) & (err <= tol)
    bad = ~(err <= tol)
    excess = err / tol
    j_worst = int(np.argmax(excess.max(axis=0))) if excess.size else 0
    first = ""
    if bad.any():
        t, j = np.argwhere(bad)[0]
        first = (f"sample {t} feature {names[j]}: C {c64[t, j]!r} vs reference {reference[t, j]!r} "
                 f"(|diff| {err[t, j]:.3g} > tol {tol[t, j]:.3g})")
    return ParityReport(
        n_values=int(err.size), n_bad=int(bad.sum()), n_needing_slack=int(slacked[:, ~is_difference].sum()),
        n_differences_needing_slack=int(slacked[:, is_difference].sum()),
        worst_feature=names[j_worst] if names else "", worst_excess=float(excess.max()) if excess.size else 0.0,
        first_bad=first, max_error_by_feature={n: float(err[:, j].max()) for j, n in enumerate(names)} if err.size else {},
    )
