"""The families added for issue 14: jerk magnitude, rolling median (and min, which existed), and
the spectrum's entropy, dominant frequency and band ranges. Each is computed identically by the
Polars batch pipeline, the Python streaming reference and the C bridge, is causal, leaves the
hash of every spec that does not use it alone, and is refused with a SpecError when it cannot be
computed as asked.

Tolerances are the existing ones: Polars vs reference rtol = atol = 1e-6 (test_features_parity),
C vs reference 1e-5 relative plus the perturbation slack (edgekit/bridge/parity.py), and C vs
Polars the same plus 2e-6 (test_bridge_parity).
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from feature_synth import (
    batch_by_sequence,
    demographics_for,
    frame_rows,
    handedness_by_sequence,
    make_cmi_frame,
    make_uci_frame,
    reference_features,
)

from edgekit.bridge import build

build.ensure_built()  # the C these tests exercise, rebuilt when its sources changed

from edgekit.bridge import Bridge, parity  # noqa: E402
from edgekit.bridge import config as cfgmod  # noqa: E402
from edgekit.bridge.binding import CConfig, lib  # noqa: E402
from edgekit.bridge.golden import frame_samples  # noqa: E402
from edgekit.errors import SpecError  # noqa: E402
from edgekit.features import FeatureSpec, InputSpec, RollingStat, RollingStats, compute_features  # noqa: E402
from edgekit.features.reference import StreamingFeatures  # noqa: E402
from edgekit.features.spec import Families, Spectrum  # noqa: E402

TOL = {"rtol": 1e-6, "atol": 1e-6}
NEW_KEYS = ("jerk_magnitude", "spectrum")


def with_new_families(base: FeatureSpec) -> FeatureSpec:
    """`base` plus every new family: medians of odd and even windows (1 included), spectra with
    K = 1 bin (entropy always 0), 12 and 24 bins, bands of one bin and of many."""
    rot = base.inputs.rot is not None
    motion, turning = ("linacc_mag", "angdist") if rot else ("acc_mag", "gyro_mag")
    fam = base.families
    return base.with_families(
        jerk_magnitude=True,
        rolling=fam.rolling + (RollingStats(("acc_mag", "acc_x"), (1, 4, 5, 9), (RollingStat.MEDIAN, RollingStat.MIN)),),
        spectrum=(Spectrum(tuple(dict.fromkeys((motion, turning, "acc_mag"))), 25,
                           bands_hz=((0.0, 2.0), (2.0, 5.0), (5.0, 25.0))),
                  Spectrum(("acc_x",), 3),
                  Spectrum(("acc_y",), 50, entropy=False, bands_hz=((0.5, 3.0),))),
    )


def cmi_spec() -> FeatureSpec:
    return with_new_families(FeatureSpec.cmi_default())


def uci_spec() -> FeatureSpec:
    return with_new_families(FeatureSpec.uci_har_default())


def new_columns(spec: FeatureSpec) -> list[int]:
    old = set(FeatureSpec.cmi_default().names()) | set(FeatureSpec.uci_har_default().names())
    return [j for j, name in enumerate(spec.names()) if name not in old]


@pytest.fixture(scope="module")
def simulated():
    from edgekit.data.simulator import SimConfig, simulate

    return simulate(8, seed=5, config=SimConfig(n_subjects=4, left_handed_fraction=0.5, rot_dropout_fraction=0.05))


# --- the spec: hashes, names, refusals ------------------------------------------------------------
def test_specs_without_the_new_families_keep_their_hash_and_json():
    for make in (FeatureSpec.cmi_default, FeatureSpec.uci_har_default):
        spec = make()
        assert not set(NEW_KEYS) & set(spec.to_dict()["families"]), "an unused new family is serialised"
        on = spec.with_families(jerk_magnitude=True)
        assert on.hash() != spec.hash() and on.with_families(jerk_magnitude=False).hash() == spec.hash()
    spec = cmi_spec()
    again = FeatureSpec.from_json(spec.to_json())
    assert again == spec and again.hash() == spec.hash() and again.names() == spec.names()


def test_names_and_units():
    spec = cmi_spec()
    units = dict(zip(spec.names(), spec.units()))
    assert units["acc_jerk_mag"] == "m/s^3" and units["acc_mag_roll4_median"] == "m/s^2"
    assert units["linacc_mag_spectral_entropy_w25"] == "1" and units["linacc_mag_dominant_hz_w25"] == "Hz"
    assert units["angdist_bp2to5hz_w25"] == "(rad)^2" and units["acc_y_bp0p5to3hz_w50"] == "(m/s^2)^2"
    assert "acc_y_spectral_entropy_w50" not in units


@pytest.mark.parametrize("spectrum, expected", [
    (Spectrum(("acc_mag",), 25, bands_hz=((2.0, 30.0),)), ("2-30 Hz", "Nyquist", "25 Hz", "50 Hz")),
    (Spectrum(("acc_mag",), 25, bands_hz=((2.0, 3.0),)), ("2-3 Hz", "no DFT bin", "multiples of 2 Hz")),
    (Spectrum(("acc_mag",), 25, bands_hz=((5.0, 2.0),)), ("5-2 Hz", "low < high")),
    (Spectrum(("acc_mag",), 2), ("2-sample window", "at least 3")),
    (Spectrum(("acc_mag",), 25, entropy=False, dominant_frequency=False), ("at least one",)),
    (Spectrum(("acc_mag",), 25, bands_hz=((0.0, 2.0), (1.0, 3.0))), ("0-2 Hz", "1-3 Hz", "same DFT bins")),
    (Spectrum(("linacc_mag",), 25), ("linacc_mag", "rot")),
])
def test_spectrum_spec_errors_name_what_is_wrong(spectrum, expected):
    spec = FeatureSpec.uci_har_default()  # 50 Hz, no quaternion
    with pytest.raises(SpecError) as err:
        spec.with_families(spectrum=(spectrum,))
    for text in expected:
        assert text in str(err.value)


def test_band_ranges_are_open_below_and_closed_above():
    sp = Spectrum(("acc_mag",), 25, bands_hz=((0.0, 2.0), (2.0, 5.0), (5.0, 25.0)))
    assert sp.n_bins == 12 and sp.band_bins(0.02) == ((1, 1), (2, 2), (3, 12))  # bins every 2 Hz


# --- three implementations, one result --------------------------------------------------------------
@pytest.fixture(scope="module")
def random_frames():
    """name -> (frame, spec, demographics or None, sequence id -> handedness); cmi mirrors SUBJ_001."""
    cmi = make_cmi_frame([45, 1, 2, 60, 33], seed=21, imu_only=(3,))
    demographics = demographics_for(cmi, left_subjects=("SUBJ_001",))
    uci = make_uci_frame([70, 1, 40], seed=8)
    return {"cmi": (cmi, cmi_spec(), demographics, handedness_by_sequence(cmi, demographics)),
            "uci": (uci, uci_spec(), None, dict.fromkeys(uci["sequence_id"].unique(), 1))}


def batch_features(frame: pl.DataFrame, spec: FeatureSpec, demographics: pl.DataFrame | None) -> dict[str, np.ndarray]:
    return batch_by_sequence(compute_features(frame, spec, handedness=demographics), spec)


@pytest.mark.parametrize("name", ["cmi", "uci"])
def test_batch_equals_reference_on_random_data(random_frames, name):
    frame, spec, demographics, hands = random_frames[name]
    assert 0 in hands.values() or name == "uci"
    batch = batch_features(frame, spec, demographics)
    reference = reference_features(frame, spec, hands)
    for sid, ref in reference.items():
        assert np.isfinite(ref).all() and np.isfinite(batch[sid]).all()
        bad = ~np.isclose(batch[sid], ref, **TOL)
        if bad.any():
            t, j = np.argwhere(bad)[0]
            pytest.fail(f"{name} {sid} sample {t} {spec.names()[j]}: batch {batch[sid][t, j]!r} != "
                        f"reference {ref[t, j]!r} ({bad.sum()} mismatches)")


def assert_c_parity(spec: FeatureSpec, x: np.ndarray, hand: int, batch: np.ndarray | None, label: str) -> None:
    c = Bridge(spec, handedness=hand).push_block(x)
    ref = parity.reference_features(spec, x, hand)
    slack = parity.perturbation_slack(spec, x, hand, ref)
    report = parity.compare(spec, c, ref, slack)
    assert report.ok, f"{label}: C != reference: {report.first_bad} ({report.n_bad} values)"
    if batch is not None:
        vs_batch = parity.compare(spec, c, batch, slack + 2e-6 * np.maximum(1.0, np.abs(batch)))
        assert vs_batch.ok, f"{label}: C != Polars batch: {vs_batch.first_bad}"


@pytest.mark.parametrize("name", ["cmi", "uci"])
def test_c_equals_reference_and_batch_on_random_data(random_frames, name):
    frame, spec, demographics, hands = random_frames[name]
    batch = batch_features(frame, spec, demographics)
    for sid in batch:
        x = frame_rows(frame, spec.input_columns(), sid).astype(np.float32)
        assert_c_parity(spec, x, hands[sid], batch[sid], f"{name} {sid}")


def test_c_equals_reference_and_batch_on_simulator(simulated):
    spec = cmi_spec()
    frame = simulated.train.with_columns(pl.col(c).cast(pl.Float32) for c in spec.input_columns())
    demographics = simulated.demographics.select("subject", "handedness")
    batch = batch_by_sequence(compute_features(frame, spec, handedness=demographics), spec)
    hand = dict(zip(demographics["subject"].to_list(), demographics["handedness"].to_list()))
    hands = set()
    for (sid,), part in frame.sort("sequence_id", "sequence_counter").group_by("sequence_id", maintain_order=True):
        hands.add(hand[part["subject"][0]])
        assert_c_parity(spec, frame_samples(part, spec), hand[part["subject"][0]], batch[sid], f"simulator {sid}")
    assert hands == {0, 1}, "the simulator streams should include both hands (mirroring)"


def test_c_on_a_long_noisy_stream_with_near_flat_and_tied_spectra():
    """3,000 samples: white noise, a held (flat) stretch where the spectrum falls to its floor,
    and single spikes, whose spectra are exactly flat (every bin ties)."""
    spec = uci_spec()
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 0.4, (3000, 3)) + [0.0, 0.0, 1.0], rng.normal(0, 1.0, (3000, 3))], axis=1)
    x[1000:1100] = x[1000]  # held sensor: flat windows
    x[1500:1560] = [0.0, 0.0, 1.0, 0.0, 0.0, 0.0]
    x[1530, 3] = 2.0  # one spike in a flat gyro
    assert_c_parity(spec, x.astype(np.float32), 1, None, "noise")


# --- causality --------------------------------------------------------------------------------------
@pytest.mark.parametrize("cut", [0, 11, 30])
def test_causality_future_samples_change_nothing(random_frames, cut):
    frame, spec, _, _ = random_frames["cmi"]
    spec = FeatureSpec(inputs=spec.inputs, sample_period_s=spec.sample_period_s, families=spec.families)  # no mirror
    sid = "SEQ_000003"
    seq = frame.filter(pl.col("sequence_id") == sid)
    rng = np.random.default_rng(cut)
    future = pl.col("sequence_counter") > cut
    perturbed = seq.with_columns(
        pl.when(future).then(pl.col(c) * 3.0 + pl.lit(rng.normal(size=seq.height))).otherwise(pl.col(c))
        .cast(seq.schema[c], strict=False).alias(c) for c in spec.input_columns())
    new = new_columns(spec)
    results = []
    for data in (seq, perturbed):
        x = frame_rows(data, spec.input_columns(), sid)
        results.append((compute_features(data, spec).select(spec.names()).to_numpy()[:, new],
                        StreamingFeatures(spec).push_many(x)[:, new],
                        Bridge(spec).push_block(x.astype(np.float32))[:, new]))
    for before, after, label in zip(*results, ("batch", "reference", "C")):
        np.testing.assert_array_equal(before[:cut + 1], after[:cut + 1], err_msg=f"{label}: the future leaked")
        assert not np.array_equal(before[cut + 1:], after[cut + 1:]), f"{label}: the perturbation did not arrive"


# --- what the values mean ------------------------------------------------------------------------------
def extra_channel_spec(window: int, bands_hz=()) -> FeatureSpec:
    """acc plus one pass-through channel `s`, whose spectrum the test shapes exactly."""
    return FeatureSpec(inputs=InputSpec(rot=None, extra=("s",)), sample_period_s=0.02,
                       families=Families(raw=None, acc_magnitude=False, spectrum=(Spectrum(("s",), window,
                                                                                           bands_hz=bands_hz),)))


@pytest.mark.parametrize("implementation", ["reference", "C"])
def test_spectrum_of_a_sine_noise_and_a_constant(implementation):
    spec = extra_channel_spec(25, bands_hz=((0.0, 2.0), (2.0, 5.0), (5.0, 25.0)))
    t = np.arange(200)
    rng = np.random.default_rng(1)
    signals = {"sine": 5.0 + 2.0 * np.cos(2 * np.pi * 4.0 * t * 0.02 + 0.3),  # 4 Hz = bin 2, DC left out
               "noise": rng.normal(size=len(t)), "constant": np.full(len(t), 7.0)}
    got = {}
    for name, s in signals.items():
        x = np.column_stack([np.zeros((len(t), 3)), s]).astype(np.float32)
        run = StreamingFeatures(spec).push_many if implementation == "reference" else Bridge(spec).push_block
        got[name] = np.asarray(run(x), dtype=np.float64)[-100:]  # full windows only
    entropy, dominant, low, mid, high = got["sine"].T
    assert np.allclose(dominant, 4.0) and np.all(entropy < 1e-4)
    assert np.allclose(mid, 1.0, rtol=1e-4) and np.all(low < 1e-8) and np.all(high < 1e-8)  # (A / 2)^2
    assert np.all(got["noise"][:, 0] > 0.6) and np.all(got["noise"][:, 0] <= 1.0)
    assert np.all(got["constant"][:, :2] == 0.0), "a flat window has no entropy and no dominant frequency"


def test_median_and_jerk_magnitude_definitions():
    frame = make_uci_frame([80], seed=3)
    spec = uci_spec()
    names = spec.names()
    clean = frame.with_columns(pl.col(c).fill_nan(None).forward_fill() for c in spec.input_columns())
    x = frame_rows(clean, spec.input_columns(), "SEQ_000000")
    features = StreamingFeatures(spec).push_many(x)
    acc = x[:, :3] * spec.inputs.acc_scale
    jerk = np.r_[0.0, np.linalg.norm(np.diff(acc, axis=0), axis=1) / spec.sample_period_s]
    np.testing.assert_allclose(features[:, names.index("acc_jerk_mag")], jerk, rtol=1e-12, atol=1e-12)
    mag = np.linalg.norm(acc, axis=1)
    for w in (1, 4, 5, 9):
        expected = [np.median(mag[max(0, t - w + 1):t + 1]) for t in range(len(mag))]
        np.testing.assert_allclose(features[:, names.index(f"acc_mag_roll{w}_median")], expected, rtol=1e-12)
    c = Bridge(spec).push_block(x.astype(np.float32))
    np.testing.assert_allclose(c[:, names.index("acc_mag_roll5_median")], features[:, names.index("acc_mag_roll5_median")],
                               rtol=1e-5)


# --- the C refuses what it cannot compute -------------------------------------------------------------
def c_config(spec: FeatureSpec) -> tuple[cfgmod.BridgeConfig, CConfig]:
    bc = cfgmod.bridge_config(spec)
    cc = CConfig(bc)
    assert lib.ek_bridge_config_check(cc.ptr) == 0
    return bc, cc


def jerk_magnitude_output(bc: cfgmod.BridgeConfig) -> int:
    return next(j for j, (kind, _, _) in enumerate(bc.outputs) if kind == cfgmod.OUT_JERK_MAG)


MUTATIONS = {  # on uci_spec(): (mutation of the C config, the status ek_bridge_config_check must return)
    "band_past_the_bins": (lambda bc, c: setattr(c.bands[0], "last_bin", 13), -11),  # 25 samples: bins 1..12
    "band_from_dc": (lambda bc, c: setattr(c.bands[0], "first_bin", 0), -11),
    "band_reversed": (lambda bc, c: setattr(c.bands[2], "first_bin", c.bands[2].last_bin + 1), -11),
    "band_spectrum": (lambda bc, c: setattr(c.bands[0], "spectrum", 99), -9),
    "spectrum_ring": (lambda bc, c: setattr(c.spectra[0], "ring", 999), -9),
    "spectrum_window_2": (lambda bc, c: setattr(c.rings[next(r for r in bc.spectra if bc.rings[r][0] == 7)],
                                                "capacity", 2), -8),  # gyro_mag's ring: no bin below Nyquist
    "median_ring": (lambda bc, c: setattr(c.medians[0], "ring", 999), -9),
    "median_output": (lambda bc, c: setattr(c.outputs[bc.outputs.index((cfgmod.OUT_MEDIAN, 0, 0))], "index", 99), -9),
    "jerk_magnitude_not_acc": (lambda bc, c: setattr(c.outputs[jerk_magnitude_output(bc)], "index", 0), -7),
    "jerk_magnitude_past_the_end": (lambda bc, c: setattr(c.outputs[jerk_magnitude_output(bc)], "index",
                                                          len(bc.prev_signals) - 2), -9),
}


@pytest.mark.parametrize("mutation", MUTATIONS)
def test_c_init_refuses_invalid_new_trackers(mutation):
    bc, cc = c_config(uci_spec())
    assert bc.prev_signals[0] == cfgmod.signal_ids(uci_spec())["acc_mag"]  # so slot 0 does not start acc_x..z
    apply, expected = MUTATIONS[mutation]
    apply(bc, cc.ptr)
    assert lib.ek_bridge_config_check(cc.ptr) == expected
    assert lib.ek_bridge_workspace_words(cc.ptr) == 0


def test_workspace_and_names_agree_between_python_and_c():
    for spec in (cmi_spec(), uci_spec()):
        bc = cfgmod.bridge_config(spec)
        bridge = Bridge(spec)
        assert bc.names == spec.names() and bridge.workspace_words == bc.workspace_words()
        assert math.isclose(bridge.push(np.zeros(bc.n_inputs, np.float32))[spec.names().index("acc_jerk_mag")], 0.0)
