"""The auto spec (`FeatureSpec.for_channels` / `for_dataset`, `default_families`) is valid for any
data: every rate from 5 Hz to 1 kHz, channel sets from an accelerometer alone to the full CMI set,
sequences down to one sample. It never asks for a band-power bin at or above Nyquist nor a window
longer than the longest sequence, and the Polars pipeline computes it to finite values.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import polars as pl
import pytest

from edgekit.data.cmi_schema import ACC_COLUMNS, ROT_COLUMNS, THM_COLUMNS, TOF_COLUMNS
from edgekit.data.dataset import SequenceDataset
from edgekit.features import FeatureSpec, compute_features
from feature_synth import make_cmi_frame

GYRO = ("gyro_x", "gyro_y", "gyro_z")
CHANNEL_SETS = {
    "acc": ACC_COLUMNS,
    "acc+gyro": ACC_COLUMNS + GYRO,
    "uci_har": tuple(f"{s}_{a}" for s in ("body_acc", "body_gyro", "total_acc") for a in "xyz"),
    "imu": ACC_COLUMNS + ROT_COLUMNS,
    "cmi_full": ACC_COLUMNS + ROT_COLUMNS + THM_COLUMNS + TOF_COLUMNS,
}
RATES_HZ = (5, 10, 20, 50, 100, 1000)


def _frame(channels: tuple[str, ...], lengths: list[int]) -> pl.DataFrame:
    """A short synthetic table (with NaN rows, q sign flips and ToF -1s) under `channels`' names."""
    base = make_cmi_frame(lengths, seed=len(channels))
    rng = np.random.default_rng(1)
    extra = {}
    for name in channels:
        if name.startswith(("gyro_", "body_gyro_")):
            extra[name] = rng.normal(scale=0.8, size=base.height)
        elif name.startswith(("total_acc_", "body_acc_")):
            extra[name] = base[f"acc_{name[-1]}"].to_numpy() / 9.80665  # in g, as UCI-HAR
    frame = base.with_columns(pl.Series(k, v) for k, v in extra.items())
    return frame.select("sequence_id", "sequence_counter", *channels)


def _check(spec: FeatureSpec, longest: int) -> None:
    """Bins below Nyquist, windows within the longest sequence, and the C bridge takes the spec."""
    fam, dt = spec.families, spec.sample_period_s
    for bp in fam.band_power:
        assert bp.window <= longest
        assert all(0 < f < 0.5 / dt for f in bp.frequencies_hz), (bp, 1 / dt)  # strictly below Nyquist
    windows = [w for g in fam.rolling for w in g.windows]
    windows += [w for wc in (fam.energy, fam.zero_crossings, fam.correlation) if wc is not None for w in wc.windows]
    windows += [fam.stationarity.window] if fam.stationarity is not None else []
    assert all(1 <= w <= longest for w in windows), windows
    binding = pytest.importorskip("edgekit.bridge.binding", reason="C bridge extension not built")
    assert binding.Bridge(spec).n_features == len(spec.names())


@pytest.mark.parametrize("rate", RATES_HZ)
@pytest.mark.parametrize("channel_set", list(CHANNEL_SETS))
def test_auto_spec_computes_finite_features_at_any_rate(channel_set, rate):
    channels = CHANNEL_SETS[channel_set]
    lengths = [1, 7, 60, 130]
    units = ["g" if c.startswith(("total_acc_", "body_acc_")) else "" for c in channels]
    spec = FeatureSpec.for_channels(channels, 1.0 / rate, units=units, longest=max(lengths))
    _check(spec, max(lengths))
    assert spec.families.band_power, "130 samples always leave room for band-power bins"
    out = compute_features(_frame(channels, lengths), spec)
    values = out.select(spec.names()).to_numpy()
    assert values.shape == (sum(lengths), len(spec.names()))
    assert np.isfinite(values).all()


@pytest.mark.parametrize("longest, bins", [(5, 2), (3, 1), (2, 0), (1, 0)])
def test_short_sequences_get_fewer_bins_or_none_with_the_reason(longest, bins):
    """The reported crash: 10 Hz windows of 5 samples asked for a 6 Hz bin (Nyquist is 5 Hz)."""
    spec = FeatureSpec.for_channels(ACC_COLUMNS + GYRO, 0.1, longest=longest)
    _check(spec, longest)
    assert sum(len(bp.frequencies_hz) for bp in spec.families.band_power) == bins
    if bins == 0:
        assert any(note.startswith("band_power:") for note in spec.omitted)
    if longest < 3:
        assert not spec.families.rolling and any(note.startswith("rolling") for note in spec.omitted)
    out = compute_features(_frame(ACC_COLUMNS + GYRO, [longest, 1]), spec)
    assert np.isfinite(out.select(spec.names()).to_numpy()).all()


def test_windows_are_durations_and_50_hz_keeps_the_presets():
    at_50 = FeatureSpec.for_channels(ACC_COLUMNS + GYRO, 0.02).families
    assert at_50.rolling[0].windows == (5, 20) and at_50.band_power[0].frequencies_hz == (2.0, 4.0, 6.0)
    at_1k = FeatureSpec.for_channels(ACC_COLUMNS + GYRO, 0.001).families
    assert at_1k.rolling[0].windows == (100, 400)  # 0.1 s and 0.4 s, as at 50 Hz
    assert at_1k.band_power[0].window == 500 and at_1k.band_power[0].frequencies_hz == (2.0, 4.0, 6.0)
    at_10 = FeatureSpec.for_channels(ACC_COLUMNS + GYRO, 0.1).families
    assert at_10.band_power[0].window == 8 and max(at_10.band_power[0].frequencies_hz) < 5.0


def test_for_dataset_clamps_windows_to_the_longest_sequence():
    rng = np.random.default_rng(0)
    sequences = [rng.normal(size=(n, 6)).astype(np.float32) for n in (4, 5, 3)]
    ds = SequenceDataset(sequences, ACC_COLUMNS + GYRO, ("",) * 6, 0.1, np.zeros(3), ("a",), np.arange(3),
                         np.arange(3))
    spec = FeatureSpec.for_dataset(ds)
    _check(spec, 5)
    assert spec.families.band_power[0].frequencies_hz == (2.0, 4.0)  # bins 1, 2 of a 5-sample window at 10 Hz


def test_omitted_notes_are_kept_in_json_but_not_hashed():
    spec = FeatureSpec.for_channels(ACC_COLUMNS, 0.1, longest=2)
    assert spec.omitted and "omitted" in spec.to_dict()
    again = FeatureSpec.from_json(spec.to_json())
    assert again.omitted == spec.omitted and again.hash() == spec.hash()
    assert dataclasses.replace(spec, omitted=()).hash() == spec.hash()
    assert "omitted" not in FeatureSpec.cmi_default().to_dict()  # presets serialise (and hash) as before
