"""Values outside a sensor's physical range are missing, exactly like NaN, in all three
implementations (Polars batch, Python reference, C bridge), and every output stays finite.

Per spec and input role, one stream gets huge values (1e30, -1e30, 1e38, -1e38, +-max float32)
in successive samples: its features must equal, bit for bit within each implementation, those of
the same stream with NaN in their place, and the three implementations must agree (C against the
reference under the parity tolerance of `edgekit/bridge/parity.py`, the batch to 1e-6 as in
test_features_parity.py). Denormals and values just inside the ranges are ordinary values: finite,
in parity, and not treated as missing.
"""

from __future__ import annotations

import re

import numpy as np
import polars as pl
import pytest

from edgekit.bridge import Bridge, build, parity
from edgekit.bridge.golden import kitchen_sink_spec
from edgekit.data.dataset import SequenceDataset
from edgekit.data.inspect import inspect_dataset
from edgekit.features import FeatureSpec, StreamingFeatures, compute_features
from edgekit.features.spec import (
    ACC_RANGE,
    EXTRA_RANGE,
    GYRO_RANGE,
    QUAT_RANGE,
    THM_RANGE,
    TOF_RANGE,
    InputSpec,
    input_ranges,
    out_of_range,
)
from edgekit.resources import bridge_dir

build.ensure_built()

F32_MAX = float(np.finfo(np.float32).max)
HUGE = (1e30, -1e30, 1e38, -1e38, F32_MAX, -F32_MAX)
TINY = (1e-40, -1e-40, 1e-45, -1e-38)  # float32 denormals (1e-38 is just below the smallest normal)
N, AT = 64, 20  # stream length; the first extreme sample (the last leaves every window before the end)
BATCH_TOL = {"rtol": 1e-6, "atol": 1e-6}
SPECS = {"cmi": FeatureSpec.cmi_default, "uci": FeatureSpec.uci_har_default, "kitchen": kitchen_sink_spec}


def role_columns(inputs: InputSpec) -> dict[str, list[int]]:
    """Positions of each input role in `inputs.columns()`."""
    cols = inputs.columns()
    roles = {"acc": inputs.acc, "rot": inputs.rot or (), "gyro": inputs.gyro or (), "thm": inputs.thm,
             "tof": inputs.tof_columns(), "extra": inputs.extra}
    return {role: [cols.index(c) for c in names] for role, names in roles.items() if names}


CASES = [(name, role) for name, make in SPECS.items() for role in role_columns(make().inputs)]


def clean_stream(spec: FeatureSpec, seed: int = 0) -> np.ndarray:
    """A plausible float32 stream for any spec: acc around gravity, a slowly turning unit
    quaternion, gyro oscillations, thermopiles near skin temperature, integer ToF with no-returns."""
    rng = np.random.default_rng(seed)
    t = np.arange(N) * spec.sample_period_s
    x = np.zeros((N, len(spec.input_columns())))
    at = role_columns(spec.inputs)
    g = spec.gravity / spec.inputs.acc_scale  # in the raw acc unit
    motion = np.stack([np.sin(9 * t), 0.3 * np.cos(7 * t), np.sin(13 * t)], axis=1) + rng.normal(0, 0.15, (N, 3))
    x[:, at["acc"]] = 0.3 * g * motion
    x[:, at["acc"][2]] += g
    if "rot" in at:  # turning about a fixed axis at a varying rate: every angvel component is a signal
        half = 0.5 * (0.4 + 2.0 * t + 0.5 * np.sin(5 * t))
        axis = np.array([0.48, 0.6, 0.64]) / np.linalg.norm([0.48, 0.6, 0.64])
        q = np.concatenate([np.cos(half)[:, None], np.sin(half)[:, None] * axis], axis=1)
        x[:, at["rot"]] = q + rng.normal(0, 1e-5, q.shape)  # a fusion filter's output is smooth
    if "gyro" in at:
        gyro = np.stack([np.sin(11 * t), np.cos(5 * t), 0.2 * np.sin(3 * t)], axis=1)
        x[:, at["gyro"]] = gyro + rng.normal(0, 0.05, (N, 3))
    if "thm" in at:
        x[:, at["thm"]] = 30.0 + rng.normal(0, 0.5, (N, len(at["thm"])))
    if "tof" in at:
        tof = rng.integers(0, 255, (N, len(at["tof"]))).astype(float)
        tof[rng.random(tof.shape) < 0.3] = -1.0
        x[:, at["tof"]] = tof
    if "extra" in at:
        x[:, at["extra"]] = np.arange(N)[:, None] + rng.normal(0, 0.1, (N, len(at["extra"])))
    return x.astype(np.float32)


def with_values(x: np.ndarray, columns: list[int], values: tuple[float, ...]) -> np.ndarray:
    """Sample AT + k gets values[k] in one column of the role (cycling through its columns)."""
    x = x.copy()
    for k, v in enumerate(values):
        x[AT + k, columns[k % len(columns)]] = np.float32(v)
    return x


def three_ways(spec: FeatureSpec, x: np.ndarray, hand: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(reference float64, C float32, batch float32) features of one sequence."""
    ref = StreamingFeatures(spec, handedness=hand).push_many(x.astype(np.float64))
    c = Bridge(spec, handedness=hand).push_block(x)
    frame = pl.DataFrame({name: x[:, j] for j, name in enumerate(spec.input_columns())}).with_columns(
        sequence_id=pl.lit("s"), sequence_counter=pl.int_range(pl.len()))
    hands = pl.DataFrame({"sequence_id": ["s"], "handedness": [hand]})
    batch = compute_features(frame, spec, handedness=hands if spec.mirror else None).select(spec.names()).to_numpy()
    return ref, c, batch


def assert_finite_and_in_parity(spec: FeatureSpec, x: np.ndarray, hand: int, label: str):
    ref, c, batch = three_ways(spec, x, hand)
    for name, values in (("reference", ref), ("C", c), ("batch", batch)):
        bad = np.argwhere(~np.isfinite(values))
        assert not bad.size, f"{label}: {name} gives {values[tuple(bad[0])]} at sample {bad[0][0]} " \
                             f"feature {spec.names()[bad[0][1]]}"
    report = parity.compare(spec, c, ref, parity.perturbation_slack(spec, x, hand, ref))
    assert report.ok, f"{label}: C != reference: {report.first_bad}"
    np.testing.assert_allclose(batch, ref, **BATCH_TOL, err_msg=f"{label}: batch != reference")
    return ref, c, batch


@pytest.mark.parametrize("spec_name, role", CASES)
def test_huge_values_are_missing_like_nan_everywhere(spec_name, role):
    spec = SPECS[spec_name]()
    hand = 0 if spec.mirror else 1  # a left hand where the spec mirrors: signs and swaps see the values too
    x = clean_stream(spec)
    columns = role_columns(spec.inputs)[role]
    huge = with_values(x, columns, HUGE)
    as_nan = with_values(x, columns, (np.nan,) * len(HUGE))
    got = assert_finite_and_in_parity(spec, huge, hand, f"{spec_name}/{role} huge")
    want = three_ways(spec, as_nan, hand)
    for name, a, b in zip(("reference", "C", "batch"), got, want):
        assert np.array_equal(a, b), f"{spec_name}/{role}: {name} treats huge values unlike NaN"


@pytest.mark.parametrize("spec_name, role", CASES)
def test_denormals_and_values_inside_the_range_are_ordinary_values(spec_name, role):
    spec = SPECS[spec_name]()
    x = clean_stream(spec, seed=1)
    columns = role_columns(spec.inputs)[role]
    assert_finite_and_in_parity(spec, with_values(x, columns, TINY), 1, f"{spec_name}/{role} denormals")
    scale = spec.inputs.acc_scale if role == "acc" else 1.0
    limits = {"acc": ACC_RANGE, "rot": QUAT_RANGE, "gyro": GYRO_RANGE, "thm": THM_RANGE, "tof": TOF_RANGE,
              "extra": EXTRA_RANGE}[role]
    inside = (0.99 * limits.high / scale, 0.99 * limits.low / scale if limits.low < 0 else limits.low)
    if role == "tof":
        inside = (TOF_RANGE.high, TOF_RANGE.low)  # the ends themselves are valid pixels
    if role == "extra":  # valid up to 1e6, but a 1e6 spike next to values ~1 costs float64 sliding sums
        inside = (1e4, -1e4)  # ~1e-4 relative until it leaves the window, beyond the batch's 1e-6
    near = with_values(x, columns, inside)
    ref, _, _ = assert_finite_and_in_parity(spec, near, 1, f"{spec_name}/{role} near the limits")
    as_nan, _, _ = three_ways(spec, with_values(x, columns, (np.nan,) * len(inside)), 1)
    assert not np.array_equal(ref, as_nan), f"{spec_name}/{role}: a value inside the range was treated as missing"


def test_uci_acc_range_is_in_g_after_acc_scale():
    spec = FeatureSpec.uci_har_default()  # acc in g, acc_scale 9.80665
    x = clean_stream(spec)
    x[AT, 0], x[AT + 1, 0] = 15.9, 16.1  # g
    ref = StreamingFeatures(spec).push_many(x.astype(np.float64))
    acc_x = spec.names().index("acc_x")
    assert ref[AT, acc_x] == pytest.approx(15.9 * 9.80665, rel=1e-6)  # valid
    assert ref[AT + 1, acc_x] == ref[AT, acc_x]  # beyond 16 g: held
    assert input_ranges(spec.inputs)[0].high == pytest.approx(16.0)
    assert out_of_range(spec.inputs, x[AT + 1]).tolist()[:3] == [True, False, False]


def test_out_of_range_mask_ignores_nan_and_tof_no_return():
    inputs = FeatureSpec.cmi_default().inputs
    x = np.zeros(len(inputs.columns()))
    x[3] = 1.0  # a unit quaternion
    tof0 = inputs.columns().index("tof_1_v0")
    x[[0, 4, 7, tof0, tof0 + 1, tof0 + 2]] = [np.nan, 2.0, 500.0, -1.0, 255.0, -0.5]
    outside = out_of_range(inputs, x)
    assert np.flatnonzero(outside).tolist() == [4, 7, tof0 + 1, tof0 + 2]


def test_bridge_header_has_the_same_ranges():
    header = (bridge_dir() / "include" / "edgekit_bridge.h").read_text()
    macros = {m[1]: float(m[2]) for m in re.finditer(r"#define (EK_\w+_RANGE\w*) \(?(-?[\d.e+]+)f\)?", header)}
    f32 = np.float32
    assert set(macros) == {"EK_ACC_RANGE", "EK_GYRO_RANGE", "EK_QUAT_RANGE", "EK_THM_RANGE_LOW", "EK_THM_RANGE_HIGH",
                           "EK_TOF_RANGE_HIGH", "EK_EXTRA_RANGE"}
    assert f32(macros["EK_ACC_RANGE"]) == f32(ACC_RANGE.high) and ACC_RANGE.low == -ACC_RANGE.high
    assert f32(macros["EK_GYRO_RANGE"]) == f32(GYRO_RANGE.high) and GYRO_RANGE.low == -GYRO_RANGE.high
    assert f32(macros["EK_QUAT_RANGE"]) == f32(QUAT_RANGE.high) and QUAT_RANGE.low == -QUAT_RANGE.high
    assert (macros["EK_THM_RANGE_LOW"], macros["EK_THM_RANGE_HIGH"]) == (THM_RANGE.low, THM_RANGE.high)
    assert macros["EK_TOF_RANGE_HIGH"] == TOF_RANGE.high and TOF_RANGE.low == 0.0
    assert f32(macros["EK_EXTRA_RANGE"]) == f32(EXTRA_RANGE.high) and EXTRA_RANGE.low == -EXTRA_RANGE.high


def test_inspect_reports_implausible_values():
    spec = FeatureSpec.cmi_default()
    seqs = [clean_stream(spec, seed) for seed in range(3)]
    seqs[0][0, 0] = 1e30  # acc beyond 16 g
    seqs[0][1, 3:7] = 0.0  # a zero-norm quaternion
    seqs[1][0, 3:7] = [2.0, 0.0, 0.0, 0.0]  # a component beyond 1.5
    seqs[1][1, 3:7] = [1.2, 0.0, 0.0, 0.0]  # within range but not a unit quaternion
    seqs[2][0, 7] = 1000.0  # a thermopile hotter than any object it can see
    ds = SequenceDataset(sequences=seqs, channels=spec.input_columns(), units=("m/s^2",) * len(spec.input_columns()),
                         sample_period_s=spec.sample_period_s, labels=np.zeros(3, np.int64), class_names=("a",),
                         subjects=np.array(["s"] * 3), sequence_ids=np.array(["a", "b", "c"]), name="corrupt")
    report = inspect_dataset(ds)["implausible"]
    total = sum(len(s) for s in seqs)
    assert report["acc"] == pytest.approx(1 / (3 * total))
    assert report["rot"] == pytest.approx(1 / (4 * total))
    assert report["thm"] == pytest.approx(1 / (5 * total))
    assert report["rot_zero_norm"] == pytest.approx(1 / total)
    assert report["rot_non_unit"] == pytest.approx(1 / total)
    assert report["tof_1"] == 0.0
