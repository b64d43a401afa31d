"""Recipe `[data]` + `[features]` → fixed-length, scaled arrays for training and testing.

Steps: load (or simulate) the training data, cut windows if asked, pick the test set (a loader
split, a separate file, or held-out subjects), compute the causal features of the FeatureSpec,
fit the per-channel scaler on the training sequences only, crop/pad to `data.length`, and make
the subject-grouped folds (without the student's validation split under `teachers.holdout`). Everything the run directory records about the data comes from here.
On data with thermopile/ToF channels the test set also gets its IMU-only and full-sensor views,
and teachers with `layout = "spec"` get the spec's sensor-branch layout (`modalities.py`).
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from edgekit.data.dataset import UNLABELLED, SequenceDataset
from edgekit.data.folds import holdout_subjects, subject_folds, validation_split
from edgekit.data.windows import sliding_windows
from edgekit.errors import EdgekitError
from edgekit.features import FeatureSpec, features_for_dataset
from edgekit.train import demographics
from edgekit.train import modalities
from edgekit.train.config import SIMULATOR, DataConfig, Recipe
from edgekit.train.tensors import Arrays, Scaler, to_arrays


@dataclass
class Prepared:
    train: Arrays
    tests: dict[str, Arrays]  # the primary test set is "test"; extra splits keep their names
    class_names: tuple[str, ...]
    channels: tuple[str, ...]  # model input channels (feature names)
    spec: FeatureSpec | None  # None: raw channels, no feature pipeline
    scaler: Scaler
    train_ids: np.ndarray
    train_subjects: np.ndarray
    folds: list[tuple[np.ndarray, np.ndarray]]  # indices into `train`
    source: str
    info: dict = field(default_factory=dict)
    test_ids: dict[str, np.ndarray] = field(default_factory=dict)  # sequence ids per test split
    sensor_fill: np.ndarray | None = None  # (C,) what modality dropout writes (`modalities.sensor_fill`)
    # training sequences in no fold (`teachers.holdout`): every fold model predicts them
    held_out: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def fold_rows(self) -> np.ndarray:
        """The training sequences in some fold's validation part: all but `held_out`."""
        return np.setdiff1d(np.arange(len(self.train)), self.held_out)

    def ids_digest(self) -> str:
        """A fingerprint of the training sequences' order, so a reused ensemble's OOF logits can
        be checked to line up with this run's data."""
        return _ids_digest(self.train_ids)

    def test_ids_digest(self) -> dict[str, str]:
        """The same per test split: the logits every stage saves are of these sequences."""
        return {name: _ids_digest(ids) for name, ids in self.test_ids.items()}


STUDENT_SEED_OFFSET = 7  # the student's seed is the recipe's plus this (its split, weights, batches)


def student_validation(recipe: Recipe, labels: np.ndarray, subjects: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    """`(train_idx, valid_idx, info)`: the student's validation split (`validation_split`), the
    one place it is drawn, so the teacher folds can leave out the very same sequences."""
    return validation_split(labels, subjects, recipe.student.valid_fraction, recipe.seed + STUDENT_SEED_OFFSET)


def teacher_folds(recipe: Recipe, labels: np.ndarray, subjects: np.ndarray) -> tuple[list, np.ndarray]:
    """`(folds, held_out)`: the teachers' subject-grouped folds over the training sequences, and
    the sequences they leave out (`teachers.holdout`: the student's validation split, or none)."""
    cfg = recipe.teachers
    if cfg.holdout == "none":
        return subject_folds(labels, subjects, cfg.folds, cfg.fold_seed), np.zeros(0, np.int64)
    rest, held_out, _ = student_validation(recipe, labels, subjects)
    folds = subject_folds(labels[rest], np.asarray(subjects)[rest], cfg.folds, cfg.fold_seed)
    return [(rest[tr], rest[va]) for tr, va in folds], held_out


def _ids_digest(ids: np.ndarray) -> str:
    return hashlib.sha256("\n".join(np.asarray(ids).astype(str).tolist()).encode()).hexdigest()[:16]


def prepare(recipe: Recipe, *, needs_folds: bool = True) -> Prepared:
    cfg = recipe.data
    train_ds = load_source(cfg.source, cfg.train_split, recipe)
    tests: dict[str, SequenceDataset] = {}
    if cfg.test_split is not None or cfg.test_source is not None:
        tests["test"] = load_source(cfg.test_source or cfg.source, cfg.test_split if cfg.test_source is None else None, recipe)
    else:
        tr, te = holdout_subjects(train_ds.labels, train_ds.subjects, cfg.holdout_subjects, recipe.seed)
        train_ds, tests["test"] = train_ds.subset(tr), train_ds.subset(te)
    for split in cfg.extra_test_splits:
        tests[split] = load_source(cfg.source, split, recipe)
    tests = {name: _on_training_classes(ds, train_ds.class_names, name) for name, ds in tests.items()}
    if not train_ds.is_labelled:
        raise EdgekitError(f"{cfg.source}: the training data has unlabelled sequences; expected labels for all")

    spec = feature_spec(recipe, train_ds)
    modalities.resolve_layouts(recipe.teachers.members, spec)  # `layout = "spec"` becomes the spec's
    tests.update(modalities.sensor_test_views(tests["test"], spec))  # IMU-only / full-sensor scores
    train_f = _features(train_ds, spec)
    scaler = Scaler.fit(train_f.sequences, train_f.channels)
    if cfg.demographics == "auto":
        scaler = replace(scaler, demographics=demographics.fit_scaler(train_ds))
    mirror_tta = "mirror" in recipe.teachers.tta  # every split needs its mirrored view
    mirrored = _mirrored_features(train_ds, spec) if recipe.train.augment.mirror_p > 0 or mirror_tta else None
    train = to_arrays(train_f.sequences, train_f.labels, scaler, cfg.length, cfg.keep, mirrored,
                      demographics.scaled_rows(train_ds, scaler))
    test_arrays = {}
    for name, ds in tests.items():
        feats = _features(ds, spec)
        test_arrays[name] = to_arrays(feats.sequences, feats.labels, scaler, cfg.length, cfg.keep,
                                      _mirrored_features(ds, spec) if mirror_tta else None,
                                      demographics=demographics.scaled_rows(ds, scaler))
    folds, held_out = teacher_folds(recipe, train_ds.labels, train_ds.subjects) if needs_folds \
        else ([], np.zeros(0, np.int64))
    info = {
        "train_sequences": len(train_ds), "train_subjects": int(len(np.unique(train_ds.subjects))),
        "test_sequences": {k: len(v) for k, v in tests.items()},
        "length_mean": float(train_ds.lengths.mean()), "length_max": int(train_ds.lengths.max()),
    }
    if scaler.demographics is not None:
        info["demographics"] = list(scaler.demographics.channels)
    return Prepared(train, test_arrays, train_ds.class_names, train_f.channels, spec, scaler,
                    train_ds.sequence_ids, train_ds.subjects, folds, cfg.source, info,
                    {name: ds.sequence_ids for name, ds in tests.items()},
                    sensor_fill=modalities.sensor_fill(spec, train_f.channels, scaler,
                                                       required=recipe.train.augment.modality_dropout_p > 0),
                    held_out=held_out)


def _on_training_classes(ds: SequenceDataset, classes: tuple[str, ...], name: str) -> SequenceDataset:
    """`ds` with its labels indexing the training `classes`. A test set may hold only some of them
    (a long table's classes are the labels it holds), never one that training lacks."""
    if ds.class_names == classes:
        return ds
    unknown = [c for c in ds.class_names if c not in classes]
    if unknown:
        raise EdgekitError(f"test set {name!r} has classes {unknown[:4]} that the training data lacks (it has "
                           f"{list(classes)[:8]}{' ...' if len(classes) > 8 else ''}); expected training's classes "
                           "or some of them")
    position = np.array([classes.index(c) for c in ds.class_names], dtype=np.int64)
    labels = ds.labels.copy()
    labelled = labels != UNLABELLED
    labels[labelled] = position[labels[labelled]]
    return replace(ds, labels=labels, class_names=classes)


def prepare_unlabeled(path: str | Path, recipe: Recipe, prepared: Prepared) -> Arrays:
    """Extra sequences for distillation: features, the run's scaler and length; labels dropped."""
    raw = ds = load_source(str(path), None, recipe)
    if prepared.spec is not None:
        ds = features_for_dataset(ds, prepared.spec)
    elif ds.channels != prepared.channels:
        raise EdgekitError(f"{path}: channels {list(ds.channels)[:6]}... differ from the training data's "
                           f"{list(prepared.channels)[:6]}...")
    mirrored = _mirrored_features(raw, prepared.spec) if "mirror" in recipe.teachers.tta else None
    arrays = to_arrays(ds.sequences, np.full(len(ds), UNLABELLED), prepared.scaler, recipe.data.length, recipe.data.keep,
                       mirrored, demographics=demographics.scaled_rows(ds, prepared.scaler))
    return arrays


def feature_spec(recipe: Recipe, ds: SequenceDataset) -> FeatureSpec | None:
    cfg = recipe.features
    if cfg.spec is not None:
        return FeatureSpec.from_dict(cfg.spec)
    if cfg.preset == "none":
        return None
    if cfg.preset == "cmi_default":
        return FeatureSpec.cmi_default()
    if cfg.preset == "uci_har_default":
        return FeatureSpec.uci_har_default()
    if cfg.preset == "raw":
        return FeatureSpec.for_dataset(ds).inputs_only()
    return FeatureSpec.for_dataset(ds)


def _features(ds: SequenceDataset, spec: FeatureSpec | None) -> SequenceDataset:
    return ds if spec is None else features_for_dataset(ds, spec)


def _mirrored_features(ds: SequenceDataset, spec: FeatureSpec | None) -> list[np.ndarray]:
    """Features of the handedness-mirrored recordings: the spec mirrors sequences marked
    left-handed, so flipping every sequence's handedness mirrors exactly the other ones."""
    if spec is None or not spec.mirror or "handedness" not in ds.extras:
        raise EdgekitError("train.augment.mirror_p > 0 and teachers.tta = ['mirror'] need a feature spec with mirror = "
                           "true and data with handedness (CMI schema); set train.augment.mirror_p = 0 and remove "
                           "'mirror' from teachers.tta for this data")
    flipped = replace(ds, extras={**ds.extras, "handedness": 1 - np.asarray(ds.extras["handedness"])})
    return features_for_dataset(flipped, spec).sequences


def load_source(source: str, split: str | None, recipe: Recipe, *, windows: bool = True) -> SequenceDataset:
    """One dataset as the recipe's `[data]` reads it: the simulator or a file (with the recipe's
    column names and sample rate), cut into sliding windows when `data.window` > 0 and `windows`."""
    if not source:
        raise EdgekitError("data.source is not set: this recipe names no data (shipped recipes never name a path); "
                           "pass the dataset on the command line, e.g. data.source=PATH/TO/uci_har")
    if source == SIMULATOR:
        ds = _simulated(recipe)
    else:
        ds = _read(Path(source), split, recipe.data)
    if windows and recipe.data.window > 0:
        ds = sliding_windows(ds, recipe.data.window, recipe.data.hop or max(1, recipe.data.window // 2))
    return ds


def _read(path: Path, split: str | None, cfg: DataConfig) -> SequenceDataset:
    from edgekit.data.load import load_dataset
    from edgekit.data.long_table import TABLE_SUFFIXES, load_long_table
    from edgekit.data.uci_har import is_uci_har

    options: dict = {"split": split} if split is not None else {}
    if cfg.sample_rate_hz is not None:
        if path.exists() and is_uci_har(path):
            raise EdgekitError(f"data.sample_rate_hz = {cfg.sample_rate_hz:g} but {path} is UCI-HAR, whose rate is "
                               "documented (50 Hz); remove data.sample_rate_hz")
        options["sample_period_s"] = 1.0 / cfg.sample_rate_hz
    if cfg.columns is None:
        return load_dataset(path, **options)
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise EdgekitError(f"[data.columns] names the columns of a long table, but {path} is not a table "
                           f"({', '.join(TABLE_SUFFIXES)}); remove [data.columns] (and --*-col flags) for this data")
    return load_long_table(path, **cfg.columns.loader_kwargs(), **options)


def _simulated(recipe: Recipe) -> SequenceDataset:
    from edgekit.data.load import load_dataset
    from edgekit.data.simulator import SimConfig, simulate, write_simulation

    cfg = recipe.data
    config = SimConfig(n_subjects=cfg.simulate_subjects) if cfg.simulate_subjects > 0 else None
    data = simulate(cfg.simulate_sequences, seed=cfg.simulate_seed, config=config)
    with tempfile.TemporaryDirectory(prefix="edgekit-sim-") as tmp:
        write_simulation(data, Path(tmp) / "train.parquet")
        return load_dataset(Path(tmp) / "train.parquet")
