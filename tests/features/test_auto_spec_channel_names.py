"""The auto spec recognises an accelerometer and a gyroscope by their common spellings
(`channel_names.py`), above all Edge Impulse's `accX/accY/accZ` and `gyrX/gyroX`, in any case."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgekit.data.load import load_dataset
from edgekit.errors import SpecError
from edgekit.features import FeatureSpec, features_for_dataset
from edgekit.features.spec import STANDARD_GRAVITY_M_S2


def _edge_impulse_folder(tmp_path, sensors: list[tuple[str, str]]):
    """Two Edge Impulse acquisition JSON files (`idle.*`, `wave.*`) at 100 Hz with these sensors."""
    rng = np.random.default_rng(0)
    for name in ("idle.s01.json", "wave.s02.json"):
        values = rng.normal(size=(40, len(sensors))) + [9.8 if n.lower().endswith("z") else 0.0 for n, _ in sensors]
        payload = {"device_type": "NICLA_SENSE", "interval_ms": 10,
                   "sensors": [{"name": n, "units": u} for n, u in sensors], "values": values.tolist()}
        (tmp_path / name).write_text(json.dumps({"protected": {"ver": "v1", "alg": "none"}, "signature": "0" * 64,
                                                 "payload": payload}))
    return load_dataset(tmp_path)


def test_edge_impulse_accelerometer_and_gyroscope_get_their_features(tmp_path):
    axes = [f"acc{a}" for a in "XYZ"] + [f"gyr{a}" for a in "XYZ"]
    ds = _edge_impulse_folder(tmp_path, [(n, "m/s2" if n.startswith("acc") else "rad/s") for n in axes])
    spec = FeatureSpec.for_dataset(ds)
    assert spec.inputs.acc == ("accX", "accY", "accZ") and spec.inputs.gyro == ("gyrX", "gyrY", "gyrZ")
    assert spec.inputs.acc_scale == 1.0 and not spec.inputs.extra  # m/s2 is the spec's own unit
    assert {"acc_mag", "gyro_mag", "tilt"} <= set(spec.names())
    features = features_for_dataset(ds, spec)
    acc_mag = features.sequences[0][:, features.channels.index("acc_mag")]
    np.testing.assert_allclose(acc_mag, np.linalg.norm(ds.sequences[0][:, :3], axis=1), rtol=1e-5)


def test_edge_impulse_acc_in_g_is_scaled_and_a_gyro_in_degrees_passes_through(tmp_path):
    ds = _edge_impulse_folder(tmp_path, [(f"accel{a}", "g") for a in "xyz"] + [(f"gyro{a}", "dps") for a in "XYZ"])
    spec = FeatureSpec.for_dataset(ds)
    assert spec.inputs.acc == ("accelx", "accely", "accelz") and spec.inputs.acc_scale == STANDARD_GRAVITY_M_S2
    # the spec's gyro is rad/s: a deg/s gyro would read as out of range, so it stays a raw channel, said why
    assert spec.inputs.gyro is None and spec.inputs.extra == ("gyroX", "gyroY", "gyroZ")
    assert any(note.startswith("gyro: gyroX, gyroY, gyroZ are in dps") for note in spec.omitted)


@pytest.mark.parametrize("acc, gyro", [
    (("acc_x", "acc_y", "acc_z"), ("gyro_x", "gyro_y", "gyro_z")),
    (("ACC_X", "ACC_Y", "ACC_Z"), ("GYR_X", "GYR_Y", "GYR_Z")),
    (("accelerometer_x", "accelerometer_y", "accelerometer_z"), ("gyroscope_x", "gyroscope_y", "gyroscope_z")),
    (("total_acc_x", "total_acc_y", "total_acc_z"), ("body_gyro_x", "body_gyro_y", "body_gyro_z")),
])
def test_common_spellings_are_recognised(acc, gyro):
    spec = FeatureSpec.for_channels(("label_hint",) + acc + gyro, 0.02)
    assert (spec.inputs.acc, spec.inputs.gyro, spec.inputs.extra) == (acc, gyro, ("label_hint",))


def test_uci_har_still_prefers_total_acc_and_one_letter_names_are_not_an_accelerometer():
    both = tuple(f"{s}_{a}" for s in ("body_acc", "total_acc") for a in "xyz")
    assert FeatureSpec.for_channels(both, 0.02).inputs.acc == ("total_acc_x", "total_acc_y", "total_acc_z")
    with pytest.raises(SpecError, match=r"no accelerometer channels among \['ax', 'ay', 'az'\]; expected .*accX/Y/Z"):
        FeatureSpec.for_channels(("ax", "ay", "az"), 0.02)
