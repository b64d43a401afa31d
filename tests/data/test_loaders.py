"""Loaders: exact round trips from each real on-disk format, and a one-line DataError for each
kind of bad input, naming what is wrong."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from edgekit.data import cmi_schema as cs
from edgekit.data import load_cmi, load_dataset, load_long_table, load_uci_har, load_uea
from edgekit.errors import DataError


# --- CMI ------------------------------------------------------------------------------------

def test_cmi_round_trip(cmi_train_path, cmi_frame, cmi_sequences):
    ds = load_cmi(cmi_train_path)
    frame = cmi_frame
    ordered = sorted(cmi_sequences)
    assert list(ds.sequence_ids) == [s[0] for s in ordered]
    assert ds.channels == cs.SENSOR_COLUMNS and len(ds.units) == 332
    assert ds.units[0] == "m/s^2" and ds.units[3] == "1" and ds.units[7] == "degC" and ds.units[-1] == "raw"
    assert list(ds.lengths) == [s[5] for s in ordered]  # includes a one-sample sequence
    assert list(ds.labels) == [cs.GESTURES.index(s[2]) for s in ordered]
    assert list(ds.subjects) == [s[1] for s in ordered]
    for seq_id, seq in zip(ds.sequence_ids, ds.sequences):
        rows = frame.filter(pl.col("sequence_id") == seq_id).sort("sequence_counter")
        expected = rows.select(cs.SENSOR_COLUMNS).to_numpy().astype(np.float32)
        assert seq.dtype == np.float32
        np.testing.assert_array_equal(seq, expected)  # NaN where empty, ToF -1 kept
        assert (seq[:, 12:] == cs.TOF_NO_RETURN).any() or np.isnan(seq[:, 12:]).all()
    assert list(ds.extras["sequence_type"]) == [s[3] for s in ordered]
    assert list(ds.extras["orientation"]) == [s[4] for s in ordered]
    # SUBJ_A is left-handed in the demographics; SUBJ_B is absent there, so right-handed
    assert list(ds.extras["handedness"]) == [1, 0, 0]
    assert ds.demographics is not None and ds.demographics.height == 2


def test_cmi_per_sample_phase_and_behavior(cmi_train_path):
    ds = load_cmi(cmi_train_path)
    longest = ds.sequence_ids.tolist().index("SEQ_000010")
    assert ds.extras["phase"][longest].tolist() == [0, 0, 1, 1, 1]
    assert ds.extras["behavior"][longest].tolist() == [0, 1, 2, 2, 2]
    assert [len(p) for p in ds.extras["phase"]] == list(ds.lengths)
    picked = ds.subset([2])  # object extras survive subsetting
    assert picked.extras["phase"][0].tolist() == [0, 0, 1, 1, 1]


def test_cmi_test_file_is_unlabelled_and_imu_only_csv_stays_numeric(tmp_path, cmi_frame, write_table):
    # an all-empty sensor column would be inferred as text by CSV sniffing
    frame = cmi_frame.filter(pl.col("sequence_id") == "SEQ_000007").select(cs.TEST_COLUMNS)
    path = write_table(frame, tmp_path / "test.csv")
    ds = load_cmi(path)
    assert list(ds.labels) == [-1] and ds.demographics is None
    assert np.isnan(ds.sequences[0][:, 7:]).all() and not np.isnan(ds.sequences[0][:, :3]).any()
    assert "sequence_type" not in ds.extras and list(ds.extras["handedness"]) == [1]


def test_cmi_explicit_demographics_path(tmp_path, cmi_frame, demographics_frame, write_table):
    path = write_table(cmi_frame, tmp_path / "data.parquet")
    demo = write_table(demographics_frame.with_columns(pl.lit(1).alias("handedness")), tmp_path / "d.csv")
    assert list(load_cmi(path).extras["handedness"]) == [1, 1, 1]
    assert list(load_cmi(path, demo).extras["handedness"]) == [1, 1, 1]
    with pytest.raises(DataError, match="nope.csv"):
        load_cmi(path, tmp_path / "nope.csv")


@pytest.fixture
def bad_cmi(tmp_path, write_table):
    """Write a broken CMI frame as `train.<suffix>`."""
    return lambda frame, suffix=".csv": write_table(frame, tmp_path / f"train{suffix}")


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_cmi_missing_column(tmp_path, suffix, cmi_frame, bad_cmi):
    path = bad_cmi(cmi_frame.drop("acc_y"), suffix)
    with pytest.raises(DataError, match=r"train\S*: missing CMI column 'acc_y'"):
        load_cmi(path)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_cmi_without_acc_is_named_as_cmi_not_long_table(tmp_path, suffix, cmi_frame, bad_cmi):
    path = bad_cmi(cmi_frame.drop(*cs.ACC_COLUMNS), suffix)
    with pytest.raises(DataError, match=r"train\S*: missing CMI columns \['acc_x', 'acc_y', 'acc_z'\] \(3\)") as err:
        load_dataset(path)
    assert "'label'" not in str(err.value).split(";")[0]
    test_file = bad_cmi(cmi_frame.select(cs.TEST_COLUMNS).drop("acc_x"), suffix)  # unlabelled: still CMI
    with pytest.raises(DataError, match=r"missing CMI column 'acc_x'"):
        load_dataset(test_file)


def test_cmi_non_numeric_sensor_csv(tmp_path, cmi_frame, bad_cmi):
    frame = cmi_frame.with_columns(pl.col("thm_2").cast(pl.String))
    warm = pl.when(pl.col("sequence_counter") == 2).then(pl.lit("warm")).otherwise("thm_2")
    frame = frame.with_columns(warm.alias("thm_2"))
    with pytest.raises(DataError, match=r"train.csv: column 'thm_2' has value 'warm'"):
        load_cmi(bad_cmi(frame))


def test_cmi_non_numeric_sensor_parquet(tmp_path, cmi_frame, bad_cmi):
    frame = cmi_frame.with_columns(pl.col("tof_5_v63").cast(pl.String))
    with pytest.raises(DataError, match=r"train.parquet: column 'tof_5_v63' has dtype String"):
        load_cmi(bad_cmi(frame, ".parquet"))


def test_cmi_unknown_gesture(tmp_path, cmi_frame, bad_cmi):
    frame = cmi_frame.with_columns(
        pl.when(pl.col("sequence_id") == "SEQ_000002").then(pl.lit("Juggle")).otherwise("gesture").alias("gesture")
    )
    with pytest.raises(DataError, match=r"unknown gesture 'Juggle'; expected one of \[.*'Wave hello'"):
        load_cmi(bad_cmi(frame))


def test_cmi_empty_and_header_only(tmp_path, cmi_frame, write_table):
    empty = tmp_path / "train.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="train.csv: file is empty"):
        load_cmi(empty)
    header_only = write_table(cmi_frame.head(0), tmp_path / "test.parquet")
    with pytest.raises(DataError, match="test.parquet: the table has a header but no rows"):
        load_cmi(header_only)
    # in a header-only CSV every column reads as text: the complaint must be the missing rows, not a dtype
    header_only_csv = tmp_path / "header.csv"
    header_only_csv.write_text(",".join(cs.TRAIN_COLUMNS) + "\n")
    for load in (load_cmi, load_dataset):
        with pytest.raises(DataError, match="header.csv: the table has a header but no rows"):
            load(header_only_csv)


def test_cmi_duplicate_counter(tmp_path, cmi_frame, bad_cmi):
    frame = cmi_frame
    frame = pl.concat([frame, frame.filter((pl.col("sequence_id") == "SEQ_000010") & (pl.col("sequence_counter") == 3))])
    with pytest.raises(DataError, match="sequence 'SEQ_000010' has two rows with sequence_counter=3"):
        load_cmi(bad_cmi(frame))


def test_cmi_mixed_subjects(tmp_path, cmi_frame, bad_cmi):
    frame = cmi_frame.with_columns(
        pl.when((pl.col("sequence_id") == "SEQ_000007") & (pl.col("sequence_counter") == 1))
        .then(pl.lit("SUBJ_Z"))
        .otherwise("subject")
        .alias("subject")
    )
    with pytest.raises(DataError, match=r"sequence 'SEQ_000007' has several 'subject' values \['SUBJ_A', 'SUBJ_Z'\]"):
        load_cmi(bad_cmi(frame))


def test_cmi_bad_demographics(tmp_path, cmi_frame, demographics_frame, bad_cmi, write_table):
    path = bad_cmi(cmi_frame)
    write_table(demographics_frame.drop("height_cm"), tmp_path / "train_demographics.csv")
    with pytest.raises(DataError, match="train_demographics.csv: missing column 'height_cm'"):
        load_cmi(path)
    write_table(demographics_frame.with_columns(pl.lit(2).alias("handedness")), tmp_path / "train_demographics.csv")
    with pytest.raises(DataError, match="subject 'SUBJ_A' has handedness 2; expected 0"):
        load_cmi(path)


# --- UCI-HAR --------------------------------------------------------------------------------

def test_uci_folder_round_trip(tmp_path, write_uci_folder):
    written = write_uci_folder(tmp_path, "train")
    for root in (tmp_path, tmp_path / "UCI HAR Dataset"):  # the folder itself or its parent
        ds = load_uci_har(root, "train")
        assert len(ds) == 3 and ds.sequences[0].shape == (4, 9)
        np.testing.assert_array_equal(np.stack(ds.sequences), written["windows"])
        assert list(ds.labels) == list(written["y"]) and list(ds.subjects) == ["7", "7", "9"]
        assert ds.class_names[0] == "WALKING" and ds.class_names[5] == "LAYING"
        assert ds.channels[3] == "body_gyro_x" and ds.units[3] == "rad/s" and ds.units[6] == "g"
        assert ds.sample_period_s == 0.02 and ds.sequence_ids[1] == "uci_train_00001"


def test_uci_folder_errors(tmp_path, write_uci_folder):
    write_uci_folder(tmp_path, "test")
    split_dir = tmp_path / "UCI HAR Dataset" / "test"
    with pytest.raises(DataError, match="body_acc_x_train.txt: file not found"):
        load_uci_har(tmp_path, "train")
    (split_dir / "y_test.txt").write_text("1\n7\n2\n")
    with pytest.raises(DataError, match="y_test.txt: line 2 has activity id 7; expected 1..6"):
        load_uci_har(tmp_path, "test")
    (split_dir / "Inertial Signals" / "total_acc_z_test.txt").write_text("1 2 x 4\n")
    with pytest.raises(DataError, match="total_acc_z_test.txt: not whitespace-separated numbers"):
        load_uci_har(tmp_path, "test_exact")
    with pytest.raises(DataError, match="split 'valid'"):
        load_uci_har(tmp_path, "valid")


def test_uci_npz_synthetic(tmp_path):
    rng = np.random.default_rng(1)
    arrays = {"X_test": rng.normal(size=(2, 128, 9)).astype(np.float32), "y_test": np.array([0, 5])}
    arrays["subject_test"] = np.array([2, 4])
    arrays["X_test_exact"] = arrays["X_test"] + 1
    np.savez(tmp_path / "har.npz", **arrays)
    ds = load_uci_har(tmp_path / "har.npz", "test_exact")
    np.testing.assert_array_equal(ds.sequences[1], arrays["X_test_exact"][1])
    assert list(ds.labels) == [0, 5] and ds.sequence_ids[0] == "uci_test_exact_00000"
    with pytest.raises(DataError, match=r"har.npz: array 'X_train' not found"):
        load_uci_har(tmp_path / "har.npz", "train")


@pytest.mark.parametrize("split,n,subjects", [("train", 7415, 21), ("test", 2947, 9), ("test_exact", 2947, 9)])
def test_uci_real_npz(uci_har_path, split, n, subjects):
    ds = load_uci_har(uci_har_path, split)
    assert len(ds) == n and {s.shape for s in ds.sequences} == {(128, 9)}
    assert len(set(ds.subjects)) == subjects and ds.labels.min() == 0 and ds.labels.max() == 5
    assert ds.channels == ("body_acc_x", "body_acc_y", "body_acc_z", "body_gyro_x", "body_gyro_y",
                           "body_gyro_z", "total_acc_x", "total_acc_y", "total_acc_z")


# --- UEA .ts --------------------------------------------------------------------------------

def test_uea_variable_length_and_missing(ts_path):
    ds = load_uea(ts_path)
    assert ds.name == "Tiny" and ds.class_names == ("up", "down") and list(ds.labels) == [0, 1, 0]
    assert ds.channels == ("dim_0", "dim_1") and list(ds.lengths) == [3, 2, 4]
    np.testing.assert_array_equal(ds.sequences[0], np.array([[1, 4], [2, np.nan], [3, 6]], np.float32))
    np.testing.assert_array_equal(ds.sequences[2][:, 1], [3, 4, 5, 6])
    assert len(set(ds.subjects)) == 3


@pytest.mark.parametrize(
    "edit,message",
    [
        (lambda t: t.replace("@timeStamps false", "@timeStamps true"), "@timeStamps true is not supported"),
        (lambda t: t.replace(":down", ":left"), r"line 12 has class label 'left'; expected one of \['up', 'down'\]"),
        (lambda t: t.replace("7.5,8.5:9.5", "7.5,8.5:9.5,1"), "line 12 has dimensions of lengths"),
        (lambda t: t.replace("7.5,8.5:", ""), r"line 12 has 1 dimensions; expected 2"),
        (lambda t: t.replace("1.0,2.0", "1.0,abc"), "line 11 has a value that is not a number"),
        (lambda t: t.replace("@data", ""), "line 11 is not an @tag line and no @data line came before it"),
        (lambda t: t.split("@data")[0], "no @data line; expected a .ts header"),
        (lambda t: t.replace("@classLabel true up down", "@classLabel true"), "@classLabel true lists no labels"),
    ],
)
def test_uea_errors(tmp_path, ts_text, edit, message):
    path = tmp_path / "bad.ts"
    path.write_text(edit(ts_text))
    with pytest.raises(DataError, match=message):
        load_uea(path)


# --- long table -----------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_long_table_round_trip(tmp_path, suffix, write_long_table):
    write_long_table(tmp_path / f"t{suffix}")
    ds = load_long_table(tmp_path / f"t{suffix}")
    assert list(ds.sequence_ids) == ["s1", "s2", "s3"] and list(ds.subjects) == ["p0", "p1", "p1"]
    assert ds.class_names == ("sit", "walk") and list(ds.labels) == [0, 1, 0]
    assert ds.channels == ("ax", "ay")
    np.testing.assert_array_equal(ds.sequences[0], [[1, 10], [2, 20], [3, 30]])  # sorted by time
    np.testing.assert_array_equal(ds.sequences[2], [[6, np.nan], [7, 70]])
    assert ds.sample_period_s == pytest.approx(0.01)
    assert list(ds.extras["sample_period_source"]) == ["timestamps"] * 3


def test_long_table_datetime_and_options(tmp_path, long_table_csv, write_table):
    csv_path, frame = long_table_csv
    frame = frame.with_columns((pl.datetime(2024, 1, 1) + pl.duration(milliseconds=pl.col("time") * 2000)).alias("time"))
    for suffix in (".parquet", ".csv"):  # CSV holds ISO text, parsed back to datetimes
        write_table(frame.rename({"label": "y"}), tmp_path / f"dt{suffix}")
        ds = load_long_table(tmp_path / f"dt{suffix}", label_col="y", subject_col=None, channels=["ay"])
        assert ds.sample_period_s == pytest.approx(0.02) and ds.channels == ("ay",)
        assert list(ds.subjects) == ["s1", "s2", "s3"]
    assert load_long_table(csv_path, sample_period_s=0.5).sample_period_s == 0.5


def test_long_table_errors(tmp_path, long_table_csv, write_table):
    csv_path, frame = long_table_csv
    with pytest.raises(DataError, match=r"long.csv: missing column 'user'.*'sequence_id', 'subject'"):
        load_long_table(csv_path, subject_col="user")
    with pytest.raises(DataError, match="missing column 'gz'"):
        load_long_table(csv_path, channels=["ax", "gz"])
    write_table(frame.with_columns(pl.col("time").mul(100).cast(pl.Int64)), tmp_path / "counter.csv")
    with pytest.raises(DataError, match="order column 'time' is Int64, a counter with no time; pass sample_period_s"):
        load_long_table(tmp_path / "counter.csv")
    assert load_long_table(tmp_path / "counter.csv", sample_period_s=0.01).sample_period_s == 0.01
    write_table(frame.with_columns(pl.col("time").cast(pl.String) + "s"), tmp_path / "text.csv")
    with pytest.raises(DataError, match="order column 'time' has dtype String; expected numbers or datetimes"):
        load_long_table(tmp_path / "text.csv", sample_period_s=0.01)
    write_table(frame.with_columns(pl.lit(0.0).alias("time")), tmp_path / "dup.csv")
    with pytest.raises(DataError, match="sequence 's1' has two rows with time=0.0"):
        load_long_table(tmp_path / "dup.csv")
    (tmp_path / "header.csv").write_text(",".join(frame.columns) + "\n")
    with pytest.raises(DataError, match="header.csv: the table has a header but no rows"):
        load_long_table(tmp_path / "header.csv")
    run = pl.when(pl.col("ax") == 2).then(pl.lit("run")).otherwise("label")
    write_table(frame.with_columns(run.alias("label")), tmp_path / "mix.csv")
    with pytest.raises(DataError, match=r"sequence 's1' has several 'label' values \['run', 'sit'\]"):
        load_long_table(tmp_path / "mix.csv")


# --- dispatch -------------------------------------------------------------------------------

def test_load_dataset_dispatch(tmp_path, cmi_train_path, write_uci_folder, ts_path, write_long_table):
    assert load_dataset(cmi_train_path).name == f"cmi_{cmi_train_path.stem}"
    write_uci_folder(tmp_path / "har", "train")
    assert load_dataset(tmp_path / "har").name == "uci_har_train"
    assert load_dataset(tmp_path / "har", split="train").name == "uci_har_train"
    assert load_dataset(ts_path).name == "Tiny"
    write_long_table(tmp_path / "long.parquet")
    assert load_dataset(tmp_path / "long.parquet").channels == ("ax", "ay")


def test_load_dataset_unknown_paths(tmp_path):
    with pytest.raises(DataError, match=r"missing.csv: not found; supported formats: CMI"):
        load_dataset(tmp_path / "missing.csv")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DataError, match=r"notes.txt: not a recognised dataset; supported formats: .*UEA"):
        load_dataset(tmp_path / "notes.txt")
