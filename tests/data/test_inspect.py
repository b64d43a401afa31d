"""inspect_dataset: exact numbers on tiny fixtures whose contents are known, and a JSON-able result."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgekit.data import cmi_schema as cs
from edgekit.data import inspect_dataset, load_cmi, load_long_table, load_uci_har, load_uea
from edgekit.data.inspect import channel_group


def test_inspect_cmi(cmi_train_path, cmi_frame):
    report = inspect_dataset(load_cmi(cmi_train_path))
    json.dumps(report)  # JSON-able, no numpy scalars
    assert report["sequences"] == 3 and report["subjects"] == 2 and report["samples"] == 10
    assert report["channels"] == 332
    assert report["length"] == {"min": 1, "median": 4.0, "mean": pytest.approx(10 / 3), "max": 5}
    balance = report["class_balance"]
    assert balance["Cheek - pinch skin"] == balance["Wave hello"] == balance["Text on phone"] == 1
    assert sum(balance.values()) == 3 and "(unlabelled)" not in balance
    # the fixture drops the quaternion on each sequence's first row and all of thm/ToF for the
    # 4-row IMU-only sequence
    missing = report["missing"]
    assert missing["acc"] == 0.0 and missing["rot"] == pytest.approx(3 / 10)
    assert missing["thm"] == pytest.approx(4 / 10) and missing["tof_3"] == pytest.approx(4 / 10)
    tof = cmi_frame.select(cs.TOF_COLUMNS).to_numpy()
    expected_no_return = (tof == -1).sum() / (~np.isnan(tof)).sum()
    assert report["cmi"]["tof_no_return_fraction"] == pytest.approx(expected_no_return)
    assert report["cmi"]["imu_only_sequences"] == 1 and report["cmi"]["imu_only_fraction"] == pytest.approx(1 / 3)
    assert report["sample_period"] == {"period_s": 0.02, "rate_hz": 50.0, "source": "assumed"}
    assert report["extras"]["handedness"] == {"0": 2, "1": 1}
    assert report["extras"]["orientation"] == {"Lie on Back": 2, "Seated Straight": 1}


def test_inspect_unlabelled_counts(tmp_path, cmi_frame, write_table):
    path = write_table(cmi_frame.select(cs.TEST_COLUMNS), tmp_path / "test.parquet")
    balance = inspect_dataset(load_cmi(path))["class_balance"]
    assert balance["(unlabelled)"] == 3 and sum(balance.values()) == 3


def test_inspect_long_table_reports_measured_period(long_table_csv):
    path, _ = long_table_csv
    period = inspect_dataset(load_long_table(path))["sample_period"]
    assert period["source"] == "timestamps" and period["period_s"] == pytest.approx(0.01)
    assert period["measured_period_s"]["median"] == pytest.approx(0.01) and period["measured_period_s"]["sequences"] == 3
    given = inspect_dataset(load_long_table(path, sample_period_s=0.5))["sample_period"]
    assert given["source"] == "given" and given["rate_hz"] == 2.0


def test_inspect_uea_missing(ts_path):
    report = inspect_dataset(load_uea(ts_path))
    assert report["missing"] == {"dim": pytest.approx(1 / 18)}  # one '?' among 9 samples x 2 dims
    assert report["sample_period"]["source"] == "assumed" and report["subjects"] == 3


def test_channel_group():
    assert [channel_group(n) for n in ("acc_x", "tof_3_v17", "body_gyro_y", "dim_0", "heart")] == [
        "acc", "tof_3", "body_gyro", "dim", "heart"
    ]


def test_inspect_real_uci_matches_documented_counts(uci_har_path):
    documented = json.loads(uci_har_path.with_suffix(".json").read_text())
    report = inspect_dataset(load_uci_har(uci_har_path, "test"))
    assert list(report["class_balance"].values()) == documented["class_counts_test"]
    assert report["sample_period"] == {"period_s": 0.02, "rate_hz": 50.0, "source": "documented"}
    assert report["missing"] == {"body_acc": 0.0, "body_gyro": 0.0, "total_acc": 0.0}
