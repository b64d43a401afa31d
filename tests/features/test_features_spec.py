"""FeatureSpec identity and validation, presets, the dataset helper and per-sequence aggregates."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import polars as pl
import pytest
from feature_synth import demographics_for, make_cmi_frame

from edgekit.data.cmi_schema import ACC_COLUMNS, ROT_COLUMNS, THM_COLUMNS
from edgekit.data.dataset import SequenceDataset
from edgekit.errors import SpecError
from edgekit.features import (
    BandPower,
    Families,
    FeatureSpec,
    InputSpec,
    Jerk,
    RollingStats,
    Tilt,
    TiltSource,
    compute_features,
    features_for_dataset,
    resolve_spec,
    sequence_aggregates,
)


def test_hash_is_stable_across_processes_and_key_order():
    spec = FeatureSpec.cmi_default()
    code = "from edgekit.features import FeatureSpec; print(FeatureSpec.cmi_default().hash())"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": "123"}).stdout.strip()
    assert other == spec.hash() and len(other) == 16

    def reversed_keys(obj):
        if isinstance(obj, dict):
            return {k: reversed_keys(obj[k]) for k in reversed(list(obj))}
        return [reversed_keys(v) for v in obj] if isinstance(obj, list) else obj

    assert FeatureSpec.from_dict(reversed_keys(spec.to_dict())).hash() == spec.hash()


def test_hash_changes_when_any_parameter_changes():
    spec = FeatureSpec.cmi_default()
    changed = [
        spec.with_families(rolling=(RollingStats(("acc_mag",), (5, 21)),)),
        FeatureSpec(inputs=spec.inputs, sample_period_s=0.04, gravity=spec.gravity, mirror=True,
                    families=spec.families),
        FeatureSpec(inputs=spec.inputs, gravity=9.80665, mirror=True, families=spec.families),
        FeatureSpec(inputs=spec.inputs, mirror=False, families=spec.families),
        spec.with_families(stationarity=None),
    ]
    hashes = {spec.hash()} | {s.hash() for s in changed}
    assert len(hashes) == len(changed) + 1


@pytest.mark.parametrize("make", [FeatureSpec.cmi_default, FeatureSpec.uci_har_default])
def test_json_round_trip_is_exact(make):
    spec = make()
    text = spec.to_json()
    again = FeatureSpec.from_json(text)
    assert again == spec and again.to_json() == text and again.names() == spec.names()
    assert FeatureSpec.from_dict(json.loads(text)) == spec


def test_from_dict_rejects_unknown_keys_and_bad_values():
    data = FeatureSpec.cmi_default().to_dict()
    with pytest.raises(SpecError, match=r"unknown key 'colour'; allowed: \['inputs',"):
        FeatureSpec.from_dict({**data, "colour": "red"})
    bad = json.loads(json.dumps(data))
    bad["nan_policy"] = "interpolate"
    with pytest.raises(SpecError, match=r"nan_policy: expected one of \['hold_last'\], got 'interpolate'"):
        FeatureSpec.from_dict(bad)
    bad = json.loads(json.dumps(data))
    bad["families"]["jerk"]["chanels"] = bad["families"]["jerk"].pop("channels")
    with pytest.raises(SpecError, match=r"unknown key 'families.jerk.chanels'; allowed in \[families.jerk\]"):
        FeatureSpec.from_dict(bad)
    bad = json.loads(json.dumps(data))
    bad["gravity"] = "9.81"
    with pytest.raises(SpecError, match="gravity: expected a number, got '9.81'"):
        FeatureSpec.from_dict(bad)


@pytest.mark.parametrize("families, words", [
    (Families(linear_acc=True), ("linear_acc", "rot")),
    (Families(euler=True), ("euler", "rot")),
    (Families(tilt=Tilt(TiltSource.ORIENTATION)), ("tilt", "rot")),
    (Families(rolling=(RollingStats(("linacc_mag",)),)), ("rolling", "linacc_mag", "rot")),
    (Families(jerk=Jerk(("thm_1",))), ("jerk", "thm_1", "thm")),
    (Families(thermal=True), ("thermal", "thm")),
    (Families(tof=True), ("tof",)),
    (Families(band_power=(BandPower(("acc_mag",), 32, (3.0,)),)), ("band_power", "3 Hz", "1.5625")),
    (Families(rolling=(RollingStats(("no_such_signal",)),)), ("no_such_signal", "available")),
])
def test_spec_error_names_family_and_missing_input(families, words):
    inputs = InputSpec(acc=("total_acc_x", "total_acc_y", "total_acc_z"), rot=None,
                       gyro=("body_gyro_x", "body_gyro_y", "body_gyro_z"))
    with pytest.raises(SpecError) as err:
        FeatureSpec(inputs=inputs, sample_period_s=0.02, families=families)
    assert all(w in str(err.value) for w in words), str(err.value)


def test_mirror_needs_both_sensors_of_a_swapped_pair():
    with pytest.raises(SpecError, match="3 and 5"):
        FeatureSpec(inputs=InputSpec(thm=THM_COLUMNS[:4]), mirror=True, families=Families())


def test_presets_names_and_units():
    cmi, uci = FeatureSpec.cmi_default(), FeatureSpec.uci_har_default()
    for spec in (cmi, uci):
        assert len(spec.names()) == len(set(spec.names())) == len(spec.units())
    assert {"acc_mag", "linacc_x", "angvel_z", "acc_mag_roll20_std", "tof_5_valid", "stationary20",
            "linacc_mag_bp2hz_w25", "thm_5_missing", "yaw_rate"} <= set(cmi.names())
    assert not any(re.fullmatch(r"tof_\d_v\d+", n) for n in cmi.names())  # ToF only as aggregates
    assert uci.inputs.acc_scale == pytest.approx(9.80665) and uci.inputs.rot is None
    assert not any(n.startswith(("linacc", "angvel", "rot_", "roll")) for n in uci.names())
    assert cmi.input_columns()[:7] == ACC_COLUMNS + ROT_COLUMNS and len(cmi.input_columns()) == 332


def make_dataset(frame: pl.DataFrame, channels: tuple[str, ...], handedness: list[int]) -> SequenceDataset:
    parts = frame.partition_by("sequence_id", maintain_order=True)
    return SequenceDataset(
        sequences=[p.select(pl.col(c).cast(pl.Float32) for c in channels).to_numpy() for p in parts],
        channels=channels, units=("m/s^2",) * len(channels), sample_period_s=0.02,
        labels=np.zeros(len(parts)), class_names=("g",), subjects=[p["subject"][0] for p in parts],
        sequence_ids=[p["sequence_id"][0] for p in parts], extras={"handedness": np.array(handedness)})


def test_features_for_dataset_matches_compute_features():
    frame = make_cmi_frame([12, 1, 20], seed=7, faults=False)
    channels = ACC_COLUMNS + ROT_COLUMNS + THM_COLUMNS
    ds = make_dataset(frame, channels, [1, 0, 1])
    spec = FeatureSpec.for_dataset(ds)
    assert spec.mirror and spec.inputs.thm == THM_COLUMNS and spec.inputs.tof_sensors == 0
    out = features_for_dataset(ds, spec)
    assert out.channels == spec.names() and out.units == spec.units() and len(out) == 3
    assert out.lengths.tolist() == [12, 1, 20] and (out.labels == ds.labels).all()
    hands = pl.DataFrame({"sequence_id": ds.sequence_ids, "handedness": [1, 0, 1]})
    direct = compute_features(ds.to_long_frame(), spec, handedness=hands)
    np.testing.assert_array_equal(out.sequences[1], direct.filter(pl.col("sequence_id") == "SEQ_000001")
                                  .select(spec.names()).to_numpy())


def test_mirror_spec_without_handedness_is_an_error():
    frame = make_cmi_frame([5], seed=1)
    with pytest.raises(SpecError, match="handedness"):
        compute_features(frame, FeatureSpec.cmi_default())


def test_sequence_aggregates_one_row_per_sequence_with_demographics():
    frame = make_cmi_frame([10, 1, 7], seed=2)
    spec = FeatureSpec.cmi_default()
    demographics = demographics_for(frame).with_columns(pl.lit(30).alias("age"))
    feats = compute_features(frame, spec, handedness=demographics)
    subjects = dict(zip(frame["sequence_id"].to_list(), frame["subject"].to_list()))
    table = sequence_aggregates(feats, spec, stats=("mean", "std", "q90"), demographics=demographics,
                                subject_of=subjects)
    assert table.height == 3 and table["n_samples"].to_list() == [10, 1, 7]
    assert table.columns[:3] == ["sequence_id", "n_samples", f"{spec.names()[0]}__mean"]
    assert {"subject", "handedness", "age"} <= set(table.columns)
    first = feats.filter(pl.col("sequence_id") == "SEQ_000000")["acc_mag"]
    assert table["acc_mag__mean"][0] == pytest.approx(first.mean(), rel=1e-6)
    assert table["acc_mag__std"][1] == 0.0


def test_resolve_spec_by_preset_file_or_dataset(tmp_path):
    assert resolve_spec("cmi") == FeatureSpec.cmi_default()
    assert resolve_spec("uci_har_default") == FeatureSpec.uci_har_default()
    path = tmp_path / "spec.json"
    path.write_text(FeatureSpec.uci_har_default().to_json())
    assert resolve_spec(str(path)).hash() == FeatureSpec.uci_har_default().hash()
    ds = make_dataset(make_cmi_frame([4], seed=1, faults=False), ACC_COLUMNS + ROT_COLUMNS, [1])
    assert resolve_spec(None, ds) == FeatureSpec.for_dataset(ds)
    with pytest.raises(SpecError, match="unknown"):
        resolve_spec("fancy")
