"""Zero-config recipes (`edgekit.train.auto`): what is derived from real small sets, UCI-HAR, the
simulator, long recordings and long tables, and that it is a valid recipe that round-trips."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from edgekit.data.cmi_schema import ACC_COLUMNS
from edgekit.data.dataset import SequenceDataset
from edgekit.data.load import load_dataset
from edgekit.errors import EdgekitError
from edgekit.features import FeatureSpec
from edgekit.models import create_model
from edgekit.train.auto import (GAIN, MIN_STUDENT_EPOCHS, MODALITY_DROPOUT, STUDENT_STEPS, TEACHER_STEPS, auto_recipe,
                                derive_recipe)
from edgekit.train.config import DataConfig
from edgekit.train.recipe import dump_recipe, recipe_from_dict, recipe_to_dict


def _steps_per_epoch(n: int, batch: int) -> int:
    return n // batch if n > batch else 1


def test_basic_motions_small_set_gets_small_batches_and_enough_steps(shared_data):
    train = shared_data / "uea" / "BasicMotions_TRAIN.ts"
    auto = derive_recipe(str(train))
    r = auto.recipe
    assert r.data.test_source == str(shared_data / "uea" / "BasicMotions_TEST.ts")  # the *_TEST.ts sibling
    assert r.data.length == 100 and r.data.window == 0
    assert r.features.preset == "none"  # dim_0..dim_5 name no accelerometer
    assert r.train.batch_size == 8 and r.teachers.folds == 5
    # hundreds of epochs of 4 steps (the issue's failure: 7 steps in all); the teachers' capped by compute
    assert r.teachers.max_steps >= 100 * 4 and r.student.max_steps >= STUDENT_STEPS
    assert r.train.eval_every_steps > 0  # epochs of 4 steps: validate every so many steps, not every epoch
    # 6 validation sequences for 4 classes cannot choose weights: the whole budget, the last weights,
    # and the student trains on all 40 sequences
    assert r.train.patience == 0 and not r.train.restore_best and r.student.valid_fraction == 0
    assert any("label-stratified" in n for n in auto.notes)


def test_handwriting_26_classes_150_sequences(shared_data):
    r = derive_recipe(str(shared_data / "uea" / "Handwriting_TRAIN.ts")).recipe
    assert r.data.length == 152 and r.train.batch_size == 16
    fold_train = 150 * (r.teachers.folds - 1) // r.teachers.folds
    # the failure: 7 optimizer steps in all; now ~1500, i.e. hundreds of epochs of a small set
    assert r.teachers.max_steps / _steps_per_epoch(fold_train, r.train.batch_size) > 30
    assert r.train.optim.lr < 4e-3  # smaller batch, smaller rate
    assert [m.name for m in r.teachers.members] == ["inception_time", "minirocket"]
    # a small set distils by function matching (out-of-fold labels are guesses there); alone: nothing to distil
    assert r.distill.mode == "function_matching"
    alone = derive_recipe(str(shared_data / "uea" / "Handwriting_TRAIN.ts"), teacher="none").recipe
    assert alone.distill.mode == "oof"


@pytest.mark.parametrize("length, blocks", [(32, 1), (100, 2), (128, 3), (152, 3), (256, 4)])
def test_student_receptive_field_follows_the_input_length(length, blocks):
    """The seed note's rule: the ModernTCN student's receptive field near the input length."""
    from edgekit.models.students.modern_tcn import ModernTCNConfig, receptive_field
    from edgekit.train.auto import _student
    from edgekit.train.config import Recipe

    recipe = Recipe(name="t", data=DataConfig(source="x.parquet", length=length))
    note = _student(recipe)
    dilations = tuple(recipe.student.options["dilations"])
    assert dilations == tuple(2 ** i for i in range(blocks)), note
    field = receptive_field(ModernTCNConfig(dilations=dilations))
    longer = receptive_field(ModernTCNConfig(dilations=tuple(2 ** i for i in range(blocks + 1))))
    assert abs(field - length) <= abs(longer - length) and f"receptive field {field}" in note


@pytest.mark.parametrize("student, standardized", [("modern_tcn_xs", True), ("mbconv_tcn_xs", True),
                                                    ("modern_tcn_causal_xs", False), ("lite_causal", False)])
def test_offline_students_read_their_windows_standardised(student, standardized):
    """Offline students get `window_standardize` (UCI-HAR sitting vs standing); streaming ones cannot have it."""
    from edgekit.train.auto import _student
    from edgekit.train.config import Recipe

    recipe = Recipe(name="t", data=DataConfig(source="x.parquet", length=128))
    recipe.student.name = student
    note = _student(recipe)
    assert recipe.student.options.get("window_standardize", False) is standardized
    assert ("standardised within its window" in note) is standardized
    create_model(student, in_chs=4, num_classes=3, **recipe.student.options)  # the options build


def test_a_budget_is_capped_by_compute_above_its_floor_and_never_above_its_target():
    from edgekit.train.auto import _budget

    cheap, dear = 10_000, 10 ** 12  # MACs per sequence: far under / far over the compute cap
    assert _budget("student", 1280, 128, cheap, 2000, False, min_epochs=18)[0] == 2000  # the target
    steps, note = _budget("student", 1280, 128, dear, 2000, False, min_epochs=18)
    assert steps == 180 and "at least 18 epochs" in note  # 10 steps per epoch x the floor
    assert _budget("student", 128_000, 128, dear, 2000, False, min_epochs=18)[0] == 2000  # floor <= target
    assert _budget("teacher", 1280, 128, dear, 1500, False)[0] == 10  # no floor: one epoch


def test_uci_har_uses_its_splits_and_caps_big_sets_by_cpu_time(uci_har_path):
    derived = derive_recipe(str(uci_har_path))
    r = derived.recipe
    assert (r.data.train_split, r.data.test_split, r.data.extra_test_splits) == ("train", "test", ["test_exact"])
    # an inertial recording read by the offline student: its raw channels, with calibration augmentation
    assert r.data.length == 128 and r.features.preset == "raw"
    assert (r.train.augment.gain_p, r.train.augment.gain_std, r.train.augment.offset_std) == GAIN
    assert any("features: raw, the 9 inertial channels" in n for n in derived.notes)
    assert r.train.batch_size == 128 and r.train.optim.lr == pytest.approx(4e-3)
    assert r.teachers.folds == 3  # subject-grouped, fewer folds on a big set
    # on a CPU a big set gets MiniRocket alone, fitted in closed form: no teacher steps to budget
    assert [m.name for m in r.teachers.members] == ["minirocket"]
    assert r.distill.mode == "oof"  # big set: the fixed out-of-fold labels (function matching measured no better)
    assert create_model("minirocket", in_chs=3, num_classes=6, **r.teachers.members[0].options).closed_form
    assert any("teachers fitted in closed form (no steps)" in n for n in derived.notes)
    epochs = r.student.max_steps / _steps_per_epoch(round(7415 * 0.85), 128)
    # the compute cap (its MACs) would give ~9 epochs; the student's floor of epochs wins
    assert epochs == MIN_STUDENT_EPOCHS and r.student.max_steps < STUDENT_STEPS
    assert any(f"at least {MIN_STUDENT_EPOCHS} epochs" in n for n in derived.notes)
    forced = derive_recipe(str(uci_har_path), teacher="resnet1d").recipe  # a stepped teacher is capped too
    assert forced.teachers.max_steps < TEACHER_STEPS
    assert r.train.patience > 0 and r.train.restore_best and r.student.valid_fraction > 0  # ~1,100 to choose by
    assert r.train.augment.modality_dropout_p == 0  # an IMU alone: nothing to drop
    on_gpu = derive_recipe(str(uci_har_path), accelerator=True).recipe
    assert [m.name for m in on_gpu.teachers.members] == ["inception_time", "minirocket"]
    assert on_gpu.teachers.max_steps == TEACHER_STEPS and on_gpu.student.max_steps == STUDENT_STEPS


def test_simulator_gets_grouped_folds_a_holdout_and_the_cmi_loss(sim_table):
    ds = load_dataset(sim_table)
    r = auto_recipe(ds, data=DataConfig(source=str(sim_table)))
    assert r.data.test_source is None and r.data.test_split is None  # subjects held out
    assert 2 <= r.teachers.folds <= 5
    assert r.data.length % 8 == 0 and r.data.length <= ds.lengths.max()
    assert (ds.lengths <= r.data.length).mean() >= 0.85  # crop only the longest tenth
    assert r.features.preset == "auto" and r.train.loss.binary_weight > 0
    assert r.train.augment.gain_p == 0  # features, not raw sensor channels: no calibration augmentation
    # thermopiles and ToF: some sequences train as IMU-only (bench/pieces.py: +0.04..0.06 on IMU-only test)
    assert r.train.augment.modality_dropout_p == MODALITY_DROPOUT


def test_simulator_by_name_from_the_command_line():
    r = derive_recipe("simulator", overrides=["data.simulate_sequences=60"]).recipe
    assert r.data.source == "simulator" and r.data.simulate_sequences == 60
    assert r.data.simulate_subjects >= 5  # enough people for a grouped hold-out and folds


def test_long_recordings_are_cut_into_sliding_windows():
    rng = np.random.default_rng(0)
    ds = SequenceDataset([rng.normal(size=(3000, 3)).astype(np.float32) for _ in range(6)], ACC_COLUMNS,
                         ("",) * 3, 0.02, np.arange(6) % 2, ("a", "b"), np.arange(6), np.arange(6))
    r = auto_recipe(ds, data=DataConfig(source="recordings.parquet", test_source="t.parquet"))
    assert (r.data.window, r.data.hop, r.data.length) == (128, 64, 128)  # 2.56 s at 50 Hz
    assert r.train.batch_size == 32  # about N/8 of 6 x 45 windows


def test_a_small_10_hz_set_gets_features_and_a_thousand_steps():
    """The issue's wrist set: 151 windows, 4 classes, acc + gyro at 10 Hz, where the auto spec
    crashed (a 6 Hz bin above Nyquist) and 7 epochs at batch 128 were 7 steps."""
    rng = np.random.default_rng(0)
    ds = SequenceDataset([rng.normal(size=(50, 6)).astype(np.float32) for _ in range(151)],
                         ACC_COLUMNS + ("gyro_x", "gyro_y", "gyro_z"), ("",) * 6, 0.1, np.arange(151) % 4,
                         tuple("abcd"), np.arange(151) % 10, np.arange(151))
    r = auto_recipe(ds, data=DataConfig(source="wrist.csv", test_source="wrist_test.csv"))
    assert r.features.preset == "raw" and r.train.batch_size == 16  # acc + gyro only: the cleaned raw channels
    assert FeatureSpec.for_dataset(ds).names()  # yet the auto spec is valid at 10 Hz (it had crashed)
    assert r.train.augment.gain_p == GAIN[0]
    # by hand it took 60-80 epochs at batch 16 (~600 steps) to reach 90 %: the derived budgets give that
    assert r.teachers.max_steps >= 500 and r.student.max_steps >= 1000


def test_one_subject_is_an_error_that_names_the_fix():
    rng = np.random.default_rng(0)
    ds = SequenceDataset([rng.normal(size=(20, 3)).astype(np.float32) for _ in range(10)], ACC_COLUMNS, ("",) * 3,
                         0.02, np.arange(10) % 2, ("a", "b"), np.zeros(10), np.arange(10))
    with pytest.raises(EdgekitError, match="1 subject.*--subject-col ''"):
        auto_recipe(ds, data=DataConfig(source="one_person.csv"))


def test_long_table_without_subject_column_reads_as_independent_sequences(tmp_path):
    rng = np.random.default_rng(0)
    rows = [{"sequence_id": f"s{i}", "label": "ab"[i % 2], "time": t * 0.05, "acc_x": rng.normal(),
             "acc_y": rng.normal(), "acc_z": rng.normal()} for i in range(12) for t in range(30)]
    path = tmp_path / "table.csv"
    pl.DataFrame(rows).write_csv(path)
    r = derive_recipe(str(path)).recipe
    assert r.data.columns is not None and r.data.columns.subject == ""  # no subject column: none
    assert r.data.columns.sequence == "sequence_id"


def test_derived_recipe_is_valid_and_round_trips_through_toml(shared_data, tmp_path):
    import tomllib

    auto = derive_recipe(str(shared_data / "uea" / "BasicMotions_TRAIN.ts"), overrides=["student.max_steps=7"])
    assert auto.recipe.student.max_steps == 7  # overrides win over what is derived
    text = dump_recipe(auto.recipe, header="\n".join(auto.notes))
    again = recipe_from_dict(tomllib.loads(text))
    assert recipe_to_dict(again) == recipe_to_dict(auto.recipe)


def test_raw_channels_only_for_an_inertial_recording_read_by_an_offline_student():
    from edgekit.train.auto import _features

    rng = np.random.default_rng(0)

    def dataset(channels):
        return SequenceDataset([rng.normal(size=(64, len(channels))).astype(np.float32) for _ in range(20)],
                               channels, ("",) * len(channels), 0.02, np.arange(20) % 2, ("a", "b"),
                               np.arange(20) % 5, np.arange(20))

    imu = dataset(ACC_COLUMNS + ("gyro_x", "gyro_y", "gyro_z"))
    preset, spec, in_chs, _ = _features(imu, offline_student=True)  # the student standardises its windows
    assert preset == "raw" and spec.names() == spec.input_columns() and in_chs == 6  # the channels, cleaned
    assert _features(imu, offline_student=False)[0] == "auto"  # a streaming student keeps the causal features
    with_heart_rate = dataset(ACC_COLUMNS + ("heart_rate",))  # not only inertial axes: the auto spec
    assert _features(with_heart_rate, offline_student=True)[0] == "auto"
    assert auto_recipe(with_heart_rate, data=DataConfig(source="hr.csv", test_source="t.csv")).train.augment.gain_p == 0
