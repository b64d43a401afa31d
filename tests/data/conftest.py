"""Tiny fixtures written in each real on-disk format, shared by the loader and inspect tests.

Tests reach the builders through fixtures (not `import conftest`), so another test folder's
conftest can never shadow them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from edgekit.data import cmi_schema as cs

# (sequence_id, subject, gesture, sequence_type, orientation, length, imu_only)
CMI_SEQUENCES = (
    ("SEQ_000010", "SUBJ_A", "Cheek - pinch skin", "Target", "Seated Straight", 5, False),
    ("SEQ_000002", "SUBJ_B", "Wave hello", "Non-Target", "Lie on Back", 1, False),  # one sample
    ("SEQ_000007", "SUBJ_A", "Text on phone", "Non-Target", "Lie on Back", 4, True),  # IMU-only
)


def _cmi_frame(seed: int = 0) -> pl.DataFrame:
    """A 341-column CMI train frame, rows shuffled, with NaN quaternions, ToF -1 and an IMU-only
    sequence. Sensor values are float32 so CSV and Parquet round-trip them exactly."""
    rng = np.random.default_rng(seed)
    rows = []
    for seq_id, subject, gesture, seq_type, orientation, length, imu_only in CMI_SEQUENCES:
        for counter in range(length):
            sensors = rng.normal(size=len(cs.SENSOR_COLUMNS)).astype(np.float32).astype(object)
            tof_start = len(cs.SENSOR_COLUMNS) - len(cs.TOF_COLUMNS)
            sensors[tof_start:] = rng.integers(-1, 255, size=len(cs.TOF_COLUMNS))
            sensors[tof_start] = cs.TOF_NO_RETURN  # at least one "no return" per sequence
            if counter == 0:
                sensors[3:7] = None  # a dropped quaternion
            if imu_only:
                sensors[7:] = None
            behavior = cs.BEHAVIORS[min(counter, 2)]  # move, pause, then gesture
            phase = "Transition" if counter < 2 else "Gesture"
            meta = [f"{seq_id}_{counter}", seq_type, seq_id, counter, subject, orientation, behavior, phase, gesture]
            rows.append(meta + [None if v is None else float(v) for v in sensors])
    frame = pl.DataFrame(rows, schema=list(cs.TRAIN_COLUMNS), orient="row", infer_schema_length=None)
    frame = frame.with_columns(pl.col(cs.SENSOR_COLUMNS).cast(pl.Float32), pl.col("sequence_counter").cast(pl.Int64))
    return frame.sample(fraction=1.0, shuffle=True, seed=seed)


def _demographics_frame() -> pl.DataFrame:
    # SUBJ_B is deliberately absent: its handedness must default to right (1)
    return pl.DataFrame(
        {
            "subject": ["SUBJ_A", "SUBJ_C"],
            "adult_child": [1, 0],
            "age": [30, 10],
            "sex": [0, 1],
            "handedness": [0, 1],
            "height_cm": [170.0, 140.0],
            "shoulder_to_wrist_cm": [55.0, 45.0],
            "elbow_to_wrist_cm": [30.0, 25.0],
        }
    )


def _write_table(frame: pl.DataFrame, path: Path) -> Path:
    if path.suffix == ".parquet":
        frame.write_parquet(path)
    else:
        frame.write_csv(path)
    return path


@pytest.fixture
def cmi_sequences():
    return CMI_SEQUENCES


@pytest.fixture
def cmi_frame() -> pl.DataFrame:
    return _cmi_frame()


@pytest.fixture
def demographics_frame() -> pl.DataFrame:
    return _demographics_frame()


@pytest.fixture
def write_table():
    return _write_table


@pytest.fixture(params=[".csv", ".parquet"])
def cmi_train_path(request, tmp_path) -> Path:
    """`train.csv|parquet` with `train_demographics.*` beside it, as Kaggle ships them."""
    path = _write_table(_cmi_frame(), tmp_path / f"train{request.param}")
    _write_table(_demographics_frame(), tmp_path / f"train_demographics{request.param}")
    return path


UCI_WINDOWS, UCI_LENGTH = 3, 4


def _write_uci_folder(root: Path, split: str = "train", seed: int = 0) -> dict[str, np.ndarray]:
    """An official-layout `UCI HAR Dataset` tree with numbers written like the originals."""
    rng = np.random.default_rng(seed)
    signals_dir = root / "UCI HAR Dataset" / split / "Inertial Signals"
    signals_dir.mkdir(parents=True, exist_ok=True)
    windows = rng.normal(size=(UCI_WINDOWS, UCI_LENGTH, 9)).astype(np.float32)
    for j, signal in enumerate(("body_acc", "body_gyro", "total_acc")):
        for k, axis in enumerate("xyz"):
            lines = ["".join(f" {v: .8e}" for v in window[:, 3 * j + k]) for window in windows]
            (signals_dir / f"{signal}_{axis}_{split}.txt").write_text("\n".join(lines) + "\n")
    y = np.array([1, 6, 3])
    subjects = np.array([7, 7, 9])
    split_dir = signals_dir.parent
    (split_dir / f"y_{split}.txt").write_text("".join(f"{v}\n" for v in y))
    (split_dir / f"subject_{split}.txt").write_text("".join(f"{v}\n" for v in subjects))
    labels = ["WALKING", "WALKING_UPSTAIRS", "WALKING_DOWNSTAIRS", "SITTING", "STANDING", "LAYING"]
    (root / "UCI HAR Dataset" / "activity_labels.txt").write_text(
        "".join(f"{i} {name}\n" for i, name in enumerate(labels, start=1))
    )
    # nine significant digits: float32 values survive the text round trip exactly
    return {"windows": windows, "y": y - 1, "subjects": subjects}


TS_TEXT = """# a tiny variable-length file
@problemName Tiny
@timeStamps false
@missing true
@univariate false
@dimensions 2
@equalLength false
@classLabel true up down

@data
1.0,2.0,3.0:4.0,?,6.0:up
7.5,8.5:9.5,10.5:down
-1,0,1,2:3,4,5,6:up
"""


def _write_long_table(path: Path) -> pl.DataFrame:
    """Two subjects, three sequences sampled every 0.01 s, rows out of order; returns the frame."""
    frame = pl.DataFrame(
        {
            "sequence_id": ["s2", "s1", "s1", "s3", "s1", "s2", "s3"],
            "subject": ["p1", "p0", "p0", "p1", "p0", "p1", "p1"],
            "label": ["walk", "sit", "sit", "sit", "sit", "walk", "sit"],
            "time": [0.01, 0.02, 0.0, 0.0, 0.01, 0.0, 0.01],
            "ax": [5.0, 3.0, 1.0, 6.0, 2.0, 4.0, 7.0],
            "ay": [50.0, 30.0, 10.0, None, 20.0, 40.0, 70.0],
        }
    )
    _write_table(frame, path)
    return frame


@pytest.fixture
def write_uci_folder():
    return _write_uci_folder


@pytest.fixture
def ts_path(tmp_path) -> Path:
    path = tmp_path / "Tiny_TRAIN.ts"
    path.write_text(TS_TEXT)
    return path


@pytest.fixture
def ts_text() -> str:
    return TS_TEXT


@pytest.fixture
def long_table_csv(tmp_path) -> tuple[Path, pl.DataFrame]:
    path = tmp_path / "long.csv"
    return path, _write_long_table(path)


@pytest.fixture
def write_long_table():
    return _write_long_table
