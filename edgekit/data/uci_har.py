"""Loader for UCI-HAR raw inertial signals (Anguita et al., ESANN 2013).

Two layouts are read:
- the official folder: `UCI HAR Dataset/{train,test}/Inertial Signals/{body_acc,body_gyro,total_acc}
  _{x,y,z}_{split}.txt` (one 128-sample window per line, whitespace-separated), `y_{split}.txt`
  (1-based activity ids), `subject_{split}.txt` and `activity_labels.txt`;
- the `.npz` in `../shared/data/uci_har` (`X_{split}` (N, 128, 9) float32 in the channel order
  below, 0-based `y_{split}`, `subject_{split}`), or a folder holding `uci_har.npz`.

Split "test_exact" is the official test signals as published; in the npz that is `X_test_exact`
(`X_test` there is recomputed with the train pipeline), in the official folder it is the same as
"test". Each 2.56 s window is one sequence; ids read `uci_<split>_00000`. The 50 Hz rate comes
from the dataset's documentation, not from timestamps.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgekit.data.dataset import SequenceDataset
from edgekit.data.inspect import PERIOD_SOURCE_KEY, PeriodSource
from edgekit.errors import DataError

SIGNALS: tuple[str, ...] = ("body_acc", "body_gyro", "total_acc")
CHANNELS: tuple[str, ...] = tuple(f"{s}_{axis}" for s in SIGNALS for axis in "xyz")
UNITS: tuple[str, ...] = ("g",) * 3 + ("rad/s",) * 3 + ("g",) * 3
CLASS_NAMES: tuple[str, ...] = (
    "WALKING",
    "WALKING_UPSTAIRS",
    "WALKING_DOWNSTAIRS",
    "SITTING",
    "STANDING",
    "LAYING",
)
SAMPLE_PERIOD_S = 0.02  # 50 Hz
SPLITS: tuple[str, ...] = ("train", "test", "test_exact")
FOLDER_NAME = "UCI HAR Dataset"
NPZ_NAME = "uci_har.npz"


def is_uci_har(path: Path) -> bool:
    """True for a `.npz`, an official `UCI HAR Dataset` folder (or its parent), or a folder
    holding `uci_har.npz` (used by `load_dataset`)."""
    if path.is_file():
        return path.suffix.lower() == ".npz"
    return path.is_dir() and (_official_root(path) is not None or (path / NPZ_NAME).is_file())


def load_uci_har(path: str | Path, split: str = "train") -> SequenceDataset:
    """Load one split of UCI-HAR from the official folder or the `.npz`."""
    path = Path(path)
    if split not in SPLITS:
        raise DataError(f"UCI-HAR split {split!r} is not known; expected one of {list(SPLITS)}")
    if not path.exists():
        raise DataError(f"{path}: not found; expected a '{FOLDER_NAME}' folder or a .npz file")
    root = _official_root(path) if path.is_dir() else None
    if root is not None:
        windows, labels, subjects, class_names = _read_folder(root, split)
    elif path.is_dir() and (path / NPZ_NAME).is_file():
        windows, labels, subjects, class_names = _read_npz(path / NPZ_NAME, split)
    elif path.suffix.lower() == ".npz":
        windows, labels, subjects, class_names = _read_npz(path, split)
    else:
        raise DataError(f"{path}: not a UCI-HAR dataset; expected a '{FOLDER_NAME}' folder or a .npz file")

    n = len(windows)
    return SequenceDataset(
        sequences=list(windows),  # views of one (N, 128, 9) block: no copy
        channels=CHANNELS,
        units=UNITS,
        sample_period_s=SAMPLE_PERIOD_S,
        labels=labels,
        class_names=class_names,
        subjects=subjects,
        sequence_ids=np.array([f"uci_{split}_{i:05d}" for i in range(n)]),
        extras={PERIOD_SOURCE_KEY: np.full(n, PeriodSource.DOCUMENTED.value)},
        name=f"uci_har_{split}",
    )


def _official_root(path: Path) -> Path | None:
    for candidate in (path, path / FOLDER_NAME):
        if (candidate / "train" / "Inertial Signals").is_dir() or (candidate / "test" / "Inertial Signals").is_dir():
            return candidate
    return None


def _read_npz(path: Path, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[str, ...]]:
    label_split = "test" if split == "test_exact" else split  # the exact signals share test labels
    try:
        with np.load(path, allow_pickle=False) as archive:
            wanted = (f"X_{split}", f"y_{label_split}", f"subject_{label_split}")
            missing = [k for k in wanted if k not in archive.files]
            if missing:
                raise DataError(f"{path}: array {missing[0]!r} not found; the file has {sorted(archive.files)}")
            windows, y, subjects = (archive[k] for k in wanted)
    except (OSError, ValueError) as err:
        raise DataError(f"{path}: not a readable .npz file ({err})") from None
    if windows.ndim != 3 or windows.shape[2] != len(CHANNELS):
        raise DataError(f"{path}: X_{split} has shape {windows.shape}; expected (N, T, {len(CHANNELS)})")
    _check_lengths(path, windows, {f"y_{label_split}": y, f"subject_{label_split}": subjects})
    bad = _first_out_of_range(y, first_id=0, n_classes=len(CLASS_NAMES))
    if bad is not None:
        raise DataError(f"{path}: y_{label_split}[{bad}] is {int(y[bad])}; expected 0..{len(CLASS_NAMES) - 1}")
    return np.ascontiguousarray(windows, dtype=np.float32), y.astype(np.int64), subjects, CLASS_NAMES


def _read_folder(root: Path, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[str, ...]]:
    folder_split = "test" if split == "test_exact" else split  # the folder holds the published signals
    split_dir = root / folder_split
    signals = [_read_numbers(split_dir / "Inertial Signals" / f"{ch}_{folder_split}.txt", np.float32) for ch in CHANNELS]
    shapes = {s.shape for s in signals}
    if len(shapes) != 1:
        raise DataError(
            f"{split_dir / 'Inertial Signals'}: signal files have different shapes {sorted(shapes)}; expected one (N, T)"
        )
    windows = np.stack(signals, axis=-1)  # (N, T, 9), channel order of CHANNELS
    y_path, subject_path = split_dir / f"y_{folder_split}.txt", split_dir / f"subject_{folder_split}.txt"
    y = _read_numbers(y_path, np.int64).ravel()
    subjects = _read_numbers(subject_path, np.int64).ravel()
    _check_lengths(split_dir, windows, {y_path.name: y, subject_path.name: subjects})
    class_names = _read_activity_labels(root / "activity_labels.txt")
    bad = _first_out_of_range(y, first_id=1, n_classes=len(class_names))
    if bad is not None:
        raise DataError(f"{y_path}: line {bad + 1} has activity id {int(y[bad])}; expected 1..{len(class_names)}")
    return windows, y - 1, subjects, class_names


def _read_numbers(path: Path, dtype: type) -> np.ndarray:
    if not path.is_file():
        raise DataError(f"{path}: file not found; expected the official UCI-HAR file layout")
    try:
        return np.loadtxt(path, dtype=dtype, ndmin=2)
    except ValueError as err:
        raise DataError(f"{path}: not whitespace-separated numbers ({str(err).splitlines()[0]})") from None


def _read_activity_labels(path: Path) -> tuple[str, ...]:
    """Class names in id order from `activity_labels.txt` ("1 WALKING" per line)."""
    if not path.is_file():
        return CLASS_NAMES
    names = {}
    for line_no, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[0].isdigit():
            raise DataError(f"{path}: line {line_no} is {line!r}; expected '<id> <NAME>'")
        names[int(parts[0])] = parts[1]
    if sorted(names) != list(range(1, len(names) + 1)):
        raise DataError(f"{path}: activity ids {sorted(names)}; expected 1..{len(names)}")
    return tuple(names[i] for i in range(1, len(names) + 1))


def _check_lengths(where: Path, windows: np.ndarray, per_window: dict[str, np.ndarray]) -> None:
    for name, values in per_window.items():
        if len(values) != len(windows):
            raise DataError(f"{where}: {name} has {len(values)} entries for {len(windows)} windows; expected one per window")


def _first_out_of_range(ids: np.ndarray, first_id: int, n_classes: int) -> int | None:
    bad = np.flatnonzero((ids < first_id) | (ids >= first_id + n_classes))
    return int(bad[0]) if bad.size else None
