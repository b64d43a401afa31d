"""Zero-config training: a recipe derived from the data, for `edgekit train DATA`.

    recipe = auto_recipe(load_dataset("BasicMotions_TRAIN.ts"), data=DataConfig(source=..., test_source=...))

What is derived, and why (each choice is also written as a note above the printed recipe):
- input length: the sequences' own length when they all share one; otherwise the 90th percentile
  (nine sequences in ten are not cropped) rounded up to a multiple of 8. Both at most
  `MAX_LENGTH`. Recordings much longer than a model input (median above `LONG_RECORDING` windows)
  are cut into sliding windows of about 2.56 s (UCI-HAR's windows), half overlapping;
- features: `FeatureSpec.for_dataset` when an accelerometer is recognised by its channel names
  (its windows fit any rate), otherwise the raw channels;
- folds: subject-grouped when the data names subjects, otherwise every sequence is its own group,
  which makes the folds plain label-stratified ones;
- teachers: on small sets (under `SMALL_SET` sequences per fold) InceptionTime and MiniRocket, the
  members that are strong on little data (Handwriting, 150 sequences, each alone on the whole
  training set: InceptionTime 70.4 %, MiniRocket 53.5 %); on larger sets without an accelerator
  the CNN-BiGRU + ResNet pair, whose cost per sequence a CPU can afford over thousands of
  sequences (InceptionTime is ~61 M MACs per 128-sample window); sizes grow with the data;
- student: `modern_tcn_xs` with as many blocks as put its receptive field nearest the input length
  (the ModernTCN seed note's rule, `dilations_for_length`);
- distillation by validation: where the student has a validation split and the run trains its
  teachers, the folds leave that split out (`teachers.holdout`) and the student is trained at
  `distill.alpha` and at `ALPHA_CANDIDATES` (1 = no teacher), keeping the teachers' share only
  where validation is sure it helps (`distill.choose_alpha`);
- budgets in optimizer steps, not epochs: a stage needs on the order of a thousand steps whatever
  the data size (7 epochs of 151 windows at batch 128 are 7 steps, and teachers end at chance),
  so small sets get small batches (about N/8, 8..128) and `TEACHER_STEPS`/`STUDENT_STEPS` steps;
  every fit (one fold of one member, or the student) is capped by the compute it may spend:
  `FIT_SECONDS` at `CPU_FLOPS`, measured from the models' own MACs (a training step costs about
  2 FLOPs x 3 passes x MACs x batch; one pass for MiniRocket, whose transform is fixed), `ACCELERATOR_FACTOR` x more on an accelerator; the learning rate follows sqrt(batch). Where the
  validation splits are big enough to choose by, each stage keeps its best validated weights and
  stops after `PATIENCE` evaluations without improvement (never before `MIN_BUDGET_FRACTION` of the
  shortest budget: an override that lowers a budget lowers that minimum with it); otherwise it
  runs its whole budget.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from edgekit.data.dataset import SequenceDataset
from edgekit.data.inspect import PERIOD_SOURCE_KEY, PeriodSource
from edgekit.data.segments import segmentation_note
from edgekit.errors import EdgekitError, SpecError
from edgekit.train.config import SIMULATOR, DataConfig, ModelConfig, Recipe

if TYPE_CHECKING:
    from edgekit.features import FeatureSpec

MAX_LENGTH = 512  # samples per model input: longer sequences are cropped (keep the last samples)
WINDOW_S = 2.56  # sliding windows for long recordings, rounded to a power of two in 32..256 samples
UNKNOWN_RATE_WINDOW = 128  # the same when the file states no sample rate
LONG_RECORDING = 4  # median length above this many windows: recordings, cut into windows
TEACHER_STEPS, STUDENT_STEPS = 1500, 2000  # optimizer steps a stage gets when CPU time allows
# one fit's compute cap: seconds at the FLOP rate a CPU core reaches in torch's conv1d forward +
# backward (measured here: 3.1-3.6 GFLOP/s on one thread of the 2-core AMD EPYC CI machines)
FIT_SECONDS = {"teacher": 300, "student": 600}
CPU_FLOPS = 3e9
# the student's floor, above the cap: on UCI-HAR the cap gave 424 steps (9 epochs, 3.3 min on one
# thread, 95.72 %); 900 steps (18 epochs) gave 96.71 % and 1,200 96.44 % (bench/README: UCI-HAR levers)
MIN_STUDENT_EPOCHS = 18
TRAIN_PASSES = 3.0  # a training step: the forward and a backward about twice its cost (`train_passes`)
SMALL_SET = 500  # sequences per fold below which the small-data teachers are chosen
ACCELERATOR_FACTOR = 300  # a GPU on these small convs: ~1 TFLOP/s sustained, a guess (no GPU measured)
BASE_BATCH, BASE_LR = 128, 4e-3  # UCI-HAR's measured setting; smaller batches get lr * sqrt(batch / 128)
MODALITY_DROPOUT = 0.4  # data with thermopile/ToF: the share of sequences trained as IMU-only (bench/pieces.py)
EVALUATIONS = 30  # validation points per stage when epochs are too short to validate at each one
# early stopping: this many evaluations without improvement end a stage, never before a third of
# its budget. Only where validation splits hold MIN_VALID_PER_CLASS sequences per class: on fewer the
# choice is noise (Handwriting's student, 22 validation sequences for 26 classes: best weights
# 47.6 % on the test set, the whole budget's last weights 54.2 %)
PATIENCE, MIN_BUDGET_FRACTION, MIN_VALID_PER_CLASS = 10, 1 / 3, 5
ALPHA_CANDIDATES = (1.0,)  # tried beside distill.alpha where the student has a validation split
# raw inertial channels (offline students): each channel of half the sequences scaled by 1 + N(0, 0.1) and
# offset by N(0, 0.1) (scaled units), as devices' and wearers' calibrations differ (`augment._gain`)
GAIN = (0.5, 0.1, 0.1)
SUBJECTS_PER_SIMULATED = 24  # simulated sequences per person: enough people for grouped folds

# member widths by training-set size (sequences per fold): < 500, < 3000, more
_MEMBERS = {
    "cnn_bigru_attn": (
        {"chs": [32, 48], "gru_hidden": 32, "dense": [64], "drop": 0.3},
        {"chs": [48, 64], "gru_hidden": 48, "dense": [96, 64], "drop": 0.3},
        {"chs": [48, 64], "gru_hidden": 48, "dense": [96, 64], "drop": 0.3},
    ),
    "resnet1d": (
        {"stem_chs": 24, "stages": [{"out_chs": 24}, {"out_chs": 48, "stride": 2}], "drop": 0.3},
        {"stem_chs": 32, "stages": [{"out_chs": 32}, {"out_chs": 64, "stride": 2}], "drop": 0.2},
        {"stem_chs": 32, "stages": [{"out_chs": 32}, {"out_chs": 64, "stride": 2}, {"out_chs": 96, "stride": 2}],
         "drop": 0.2},
    ),
    "inception_time": (
        {"filters": 16, "bottleneck_chs": 16, "drop": 0.1},  # 64 channels: about a quarter of the MACs
        {"filters": 32},
        {"filters": 32},
    ),
    "minirocket": ({"drop": 0.1}, {}, {}),
    "wavenet1d": (
        {"chs": 24, "dilations": [1, 2, 4, 8], "drop": 0.2},
        {"chs": 32, "dilations": [1, 2, 4, 8, 16], "drop": 0.2},
        {"chs": 48, "dilations": [1, 2, 4, 8, 16], "drop": 0.2},
    ),
}
SMALL_SET_MEMBERS = ("inception_time", "minirocket")
# larger sets on a CPU: MiniRocket alone, fitted in closed form. Conv teachers capped by CPU time
# stay under it (UCI-HAR: CNN-BiGRU + ResNet at 83 steps per fold 92.40 %, MiniRocket's ridge 97.3 %)
CPU_LARGE_SET_MEMBERS = ("minirocket",)


@dataclass(frozen=True)
class AutoRecipe:
    recipe: Recipe
    notes: tuple[str, ...]  # why each derived value is what it is


def derive_recipe(source: str, *, test_source: str | None = None, teacher: str = "ensemble",
                  columns: dict[str, str] | None = None, overrides: Sequence[str] = (),
                  accelerator: bool = False, student: str | None = None) -> AutoRecipe:
    """Read the training data named on the command line and derive its recipe. `columns` are
    the long-table roles a user named (`sequence`, `subject`, `label`, `time`); `overrides`
    (key=value) apply before the data is read (`data.sample_rate_hz`) and win over what is derived;
    `student` (`--student`) is the student the recipe is derived for (default `modern_tcn_xs`)."""
    from edgekit.train.prepare import load_source
    from edgekit.train.recipe import apply_overrides, recipe_from_dict, recipe_to_dict

    data_overrides = [o for o in overrides if o.strip().startswith("data.")]
    raw = {"name": _name(source), "data": _data_config(source, test_source, columns)}
    base = recipe_from_dict(apply_overrides(raw, data_overrides), where="command line")
    if base.data.source == SIMULATOR and base.data.simulate_subjects == 0:
        base.data.simulate_subjects = max(5, base.data.simulate_sequences // SUBJECTS_PER_SIMULATED)
    train_ds = load_source(base.data.source, base.data.train_split, base, windows=False)
    recipe, notes = _derive(train_ds, base.data, name=base.name, teacher=teacher, accelerator=accelerator,
                            student=student)
    if (segmented := segmentation_note(train_ds)) is not None:
        notes.insert(1, segmented)
    if overrides:
        recipe = recipe_from_dict(apply_overrides(recipe_to_dict(recipe), overrides), where="derived recipe")
        notes.append(f"overrides applied last: {' '.join(overrides)}")
        if (note := _stopping_after_overrides(recipe, overrides, _trains_teachers(teacher))) is not None:
            notes.append(note)
    return AutoRecipe(recipe, tuple(notes))


def _stopping_after_overrides(recipe: Recipe, overrides: Sequence[str], trains_teachers: bool) -> str | None:
    """Keeps early stopping able to act once overrides changed the budgets of the stages that
    train: a derived `train.min_steps` follows the overridden budgets (`MIN_BUDGET_FRACTION` of the
    shortest) and a derived `train.eval_every_steps` shrinks to leave `EVALUATIONS` validations; a
    minimum the user set above a stage's budget is refused (early stopping could never act there)."""
    from edgekit.train.config import stage_budget
    from edgekit.train.recipe import RecipeError

    given = {o.partition("=")[0].strip() for o in overrides}
    train = recipe.train
    budgets = {f"{name}.max_steps": stage_budget(train, stage.epochs, stage.max_steps)[1]
               for name, stage in (("teachers", recipe.teachers), ("student", recipe.student))
               if name == "student" or trains_teachers}
    budgets = {key: steps for key, steps in budgets.items() if steps is not None}
    if not budgets:
        return None
    key, shortest = min(budgets.items(), key=lambda item: item[1])
    if "train.min_steps" in given:
        if train.min_steps > shortest:
            whose = "" if key in given else " (derived)"
            raise RecipeError(f"derived recipe: train.min_steps={train.min_steps} is above {key}={shortest}{whose}; "
                              f"expected train.min_steps <= every stage's max_steps (lower it or raise {key})")
        return None
    if train.min_steps == 0 or not given & budgets.keys():  # no early stopping, or the derived budgets
        return None
    derived, train.min_steps = train.min_steps, int(shortest * MIN_BUDGET_FRACTION)
    if train.eval_every_steps and "train.eval_every_steps" not in given:
        train.eval_every_steps = max(1, min(train.eval_every_steps, shortest // EVALUATIONS))
    if train.min_steps == derived:
        return None
    validated = f"every {train.eval_every_steps} steps" if train.eval_every_steps else "at each epoch's end"
    return (f"train.min_steps: {train.min_steps} ({Fraction(MIN_BUDGET_FRACTION).limit_denominator(10)} of the shortest budget after the "
            f"overrides, {key}={shortest}) instead of the derived {derived}; validated {validated}")


def auto_recipe(train_ds: SequenceDataset, *, data: DataConfig, teacher: str = "ensemble",
                accelerator: bool = False, name: str | None = None) -> Recipe:
    """The recipe for training on `train_ds` (read as `data` says, not yet cut into windows):
    `data`'s source, test set, columns and rate are kept, everything else is derived."""
    return _derive(train_ds, data, name=name or _name(data.source), teacher=teacher, accelerator=accelerator)[0]


def _derive(ds: SequenceDataset, data: DataConfig, *, name: str, teacher: str,
            accelerator: bool, student: str | None = None) -> tuple[Recipe, list[str]]:
    from edgekit.data.windows import sliding_windows
    from edgekit.train.recipe import recipe_from_dict, recipe_to_dict
    from edgekit.train.scoring import binary_classes

    if not ds.is_labelled:
        raise EdgekitError(f"{data.source}: some training sequences have no label; expected a label for every one "
                           "(long tables: name the label column with --label-col)")
    notes = [_describe(ds)]
    data = replace(data)
    data.length, data.window, note = _input_length(ds)
    data.hop = data.window // 2
    notes.append(note)
    if data.window:
        ds = sliding_windows(ds, data.window, data.hop)
    recipe = Recipe(name=name, data=data)
    if student is not None:
        _check_student(student)
        recipe.student.name = student
    n_train, note = _folds(recipe, ds, trains_teachers=_trains_teachers(teacher))
    notes.append(note)
    recipe.features.preset, spec, in_chs, note = _features(ds, offline_student=_offline(recipe.student.name))
    notes.append(note)
    notes.append(_teachers(recipe, n_train, teacher, accelerator))
    if (note := _distillation(recipe, n_train, teacher)) is not None:
        notes.append(note)
    notes.append(_student(recipe))
    notes.append(_budgets(recipe, n_train, len(ds.class_names), in_chs, accelerator))
    if (note := _alpha_by_validation(recipe, n_train, teacher)) is not None:
        notes.append(note)
    recipe.train.loss = replace(recipe.train.loss, label_smoothing=0.05,  # CMI: half the score is binary F1
                                binary_weight=0.2 if binary_classes(ds.class_names) else 0.0)
    recipe.train.augment = replace(recipe.train.augment, jitter_std=0.03, time_mask_p=0.2, time_mask_max=0.1,
                                   shift_p=0.3, shift_max=max(1, data.length // 16), mixup_p=0.2)
    if recipe.features.preset == "raw":
        recipe.train.augment = replace(recipe.train.augment, gain_p=GAIN[0], gain_std=GAIN[1], offset_std=GAIN[2])
        notes.append(f"calibration augmentation: half the sequences train with each raw sensor channel scaled by "
                     f"1 + N(0, {GAIN[1]}) and offset by N(0, {GAIN[2]}) (UCI-HAR student alone on raw channels: 96.81 % "
                     "without, 97.12-97.39 % with)")
    if spec is not None and (spec.inputs.thm or spec.inputs.tof_sensors):
        recipe.train.augment = replace(recipe.train.augment, modality_dropout_p=MODALITY_DROPOUT)
        notes.append(f"modality dropout {MODALITY_DROPOUT}: whole sequences train without their thermopile/ToF, as "
                     "IMU-only recordings (CMI: half the hidden test); bench/pieces.py measured +0.04 (teachers) and "
                     "+0.06 (student) CMI score on IMU-only test sequences of the simulator")
    return recipe_from_dict(recipe_to_dict(recipe), where="derived recipe"), notes  # validated like a file


def _folds(recipe: Recipe, ds: SequenceDataset, *, trains_teachers: bool) -> tuple[int, str]:
    """Sets `teachers.folds`; returns (training sequences once the test hold-out is taken, note)."""
    data = recipe.data
    has_test = data.test_source is not None or data.test_split is not None
    n_subjects = len(np.unique(ds.subjects))
    grouped = n_subjects < len(np.unique(ds.sequence_ids))
    held = 0 if has_test else math.ceil(n_subjects / min(max(2, round(1 / data.holdout_subjects)), n_subjects))
    n_train = round(len(ds) * (1 - held / n_subjects))
    folds = min(5 if n_train <= 2000 else 3, n_subjects - held)
    if folds < 2 and (trains_teachers or not has_test):
        raise EdgekitError(f"{data.source}: the training data names {n_subjects} subject(s); subject-grouped "
                           f"{'folds' if has_test else 'test hold-out and folds'} need at least "
                           f"{2 + held} (long tables: --subject-col '' treats every sequence as independent)")
    recipe.teachers.folds = max(2, folds)  # fewer only when no teacher is trained: then no folds are made
    test = data.test_source or f"the file's {', '.join([data.test_split or '', *data.extra_test_splits])} split"
    return n_train, (f"{'subject-grouped' if grouped else 'label-stratified (no subjects named)'} folds: "
                     f"{recipe.teachers.folds}; test: " + (test if has_test else f"none given, {held} of {n_subjects} "
                     f"{'subjects' if grouped else 'sequences'} held out (data.holdout_subjects)"))


def _teachers(recipe: Recipe, n_train: int, teacher: str, accelerator: bool) -> str:
    """Sets `teachers.members`: `teacher` when it names a model, else the members for the data
    size (and device), sized to the sequences a fold trains on."""
    fold_n = _fold_sequences(recipe, n_train)
    tier = 0 if fold_n < SMALL_SET else 1 if fold_n < 3000 else 2
    chosen = SMALL_SET_MEMBERS if tier == 0 or accelerator else CPU_LARGE_SET_MEMBERS
    members = [teacher] if teacher in _registered_teachers() else list(chosen)
    recipe.teachers.members = [ModelConfig(m, dict(_MEMBERS[m][tier]) if m in _MEMBERS else {}) for m in members]
    return f"teachers: {', '.join(members)} at {('small', 'medium', 'large')[tier]} width ({fold_n} sequences per fold)"


def _fold_sequences(recipe: Recipe, n_train: int) -> int:
    """The training sequences one teacher fold trains on."""
    folds = recipe.teachers.folds
    return n_train * (folds - 1) // folds


def _distillation(recipe: Recipe, n_train: int, teacher: str) -> str | None:
    """Small sets distil by function matching: out-of-fold soft labels there are the ensemble's
    guesses on sequences it never saw, wrong on ~40 % of Handwriting's training sequences."""
    if teacher == "none" or _fold_sequences(recipe, n_train) >= SMALL_SET:
        return None
    recipe.distill.mode = "function_matching"
    return ("distillation: function matching (the fold models label the student's augmented batch at every "
            "step; Handwriting: 58.4 % against 51.2 % from out-of-fold labels, the student alone 57.3 %)")


def _check_student(name: str) -> None:
    from edgekit.models import list_models

    if name not in list_models(kind="student"):
        raise EdgekitError(f"--student {name!r} is not a registered student; expected one of "
                           f"{', '.join(list_models(kind='student'))}")


def _alpha_by_validation(recipe: Recipe, n_train: int, teacher: str) -> str | None:
    """Where the student has a validation split and the run trains its teachers (or reuses a run
    whose teachers left a split out: `--teacher RUN_DIR`, checked to be this split when training):
    the folds leave that split out, and the student trains with and without the teachers and
    keeps the teachers' share only where validation is sure of it."""
    if recipe.student.valid_fraction == 0 or not (_trains_teachers(teacher) or _teachers_held_out(teacher)):
        return None
    recipe.teachers.holdout = "student_validation"
    recipe.distill.alpha_candidates = list(ALPHA_CANDIDATES)
    fold_n = _fold_sequences(recipe, round(n_train * (1 - recipe.student.valid_fraction)))
    return (f"distillation by validation: the teacher folds leave out the student's validation split (so a fold "
            f"trains on about {fold_n} sequences), and the "
            f"student trains at α {', '.join(f'{a:g}' for a in [recipe.distill.alpha, *ALPHA_CANDIDATES])} "
            "(1 = its labels alone) and keeps α < 1 only if it beats α 1 in "
            f"{recipe.distill.alpha_confidence:.0%} of validation resamples; teachers that saw those subjects made "
            "distillation win on validation and lose on UCI-HAR's test set")


def _student(recipe: Recipe) -> str:
    """Sets the ModernTCN student's blocks so its receptive field is nearest the input length, and
    has an offline student read its inputs standardised within the window too."""
    from edgekit.models.students.modern_tcn import ModernTCNConfig, dilations_for_length, receptive_field

    name = recipe.student.name
    standardized = ""
    if _offline(name):
        recipe.student.options = {**recipe.student.options, "window_standardize": True}
        standardized = "; reads each channel also standardised within its window (small movements at full scale)"
    if not name.startswith("modern_tcn"):
        return f"student: {name}{standardized}"
    dilations = dilations_for_length(recipe.data.length)
    recipe.student.options = {**recipe.student.options, "dilations": list(dilations)}
    field = receptive_field(ModernTCNConfig(dilations=dilations))
    return (f"student: {name}, {len(dilations)} blocks (dilations {', '.join(map(str, dilations))}): receptive "
            f"field {field} samples for inputs of {recipe.data.length} (the seed note's rule: 0.7-1.2x)"
            f"{standardized}")


def _budgets(recipe: Recipe, n_train: int, n_classes: int, in_chs: int, accelerator: bool) -> str:
    """Sets batch size, learning rate, the stages' step budgets, validation and early stopping."""
    train, length, folds = recipe.train, recipe.data.length, recipe.teachers.folds
    fold_n = _fold_sequences(recipe, n_train)
    valid_n = min(n_train // folds, round(n_train * recipe.student.valid_fraction))  # the smaller split
    monitored = valid_n >= MIN_VALID_PER_CLASS * n_classes
    if not monitored:  # run the whole budget, keep the last weights, and give the student all the data
        recipe.student.valid_fraction, train.restore_best = 0.0, False
    student_n = round(n_train * (1 - recipe.student.valid_fraction))
    train.batch_size = int(min(BASE_BATCH, max(8, 2 ** math.floor(math.log2(max(1, n_train / 8))))))
    train.optim = replace(train.optim, lr=float(f"{BASE_LR * math.sqrt(train.batch_size / BASE_BATCH):.2g}"),
                          weight_decay=0.02, warmup_frac=0.05)
    k = n_classes
    teacher_macs = max((_macs(m, in_chs, k, length) for m in recipe.teachers.members), default=0)
    student_macs = _macs(ModelConfig(recipe.student.name, recipe.student.options), in_chs, k, length)
    teacher_steps, t_note = _budget("teacher", fold_n, train.batch_size, teacher_macs, TEACHER_STEPS, accelerator)
    if not teacher_macs:
        t_note = "teachers fitted in closed form (no steps)"
    student_steps, s_note = _budget("student", student_n, train.batch_size, student_macs, STUDENT_STEPS, accelerator,
                                    min_epochs=MIN_STUDENT_EPOCHS)
    recipe.teachers.max_steps, recipe.student.max_steps = teacher_steps, student_steps
    shortest = min(teacher_steps, student_steps)
    if shortest > EVALUATIONS * max(1, min(fold_n, student_n) // train.batch_size):  # epochs of a few steps
        train.eval_every_steps = shortest // EVALUATIONS
    train.ema_decay = 0.99
    note = f"batch {train.batch_size} (about N/8), lr {train.optim.lr:g}; {t_note}; {s_note}; "
    if not monitored:
        return note + (f"validation splits of {valid_n} sequences for {n_classes} classes are too few to choose "
                       "weights by: full budgets, last weights, and the student trains on every training sequence")
    train.patience, train.min_steps = PATIENCE, int(shortest * MIN_BUDGET_FRACTION)
    validated = f"every {train.eval_every_steps} steps" if train.eval_every_steps else "at each epoch's end"
    return note + (f"validated {validated}, best weights kept, stopped after {PATIENCE} evaluations without "
                   f"improvement (not before step {train.min_steps})")


def _describe(ds: SequenceDataset) -> str:
    lengths = ds.lengths
    span = f"{lengths[0]} samples each" if lengths.min() == lengths.max() else \
        f"{lengths.min()}..{lengths.max()} samples (median {int(np.median(lengths))})"
    rate = f"{1 / ds.sample_period_s:g} Hz"
    if not _rate_known(ds):
        rate += " (assumed: the file states no rate; set data.sample_rate_hz)"
    return (f"data: {len(ds)} sequences, {len(ds.class_names)} classes, {len(ds.channels)} channels, {span} "
            f"at {rate}")


def _rate_known(ds: SequenceDataset) -> bool:
    source = ds.extras.get(PERIOD_SOURCE_KEY)
    return source is None or not len(source) or source[0] != PeriodSource.ASSUMED.value


def _input_length(ds: SequenceDataset) -> tuple[int, int, str]:
    """(data.length, data.window, note)."""
    lengths = ds.lengths
    if _rate_known(ds):
        target = 2 ** round(math.log2(WINDOW_S / ds.sample_period_s))
        target = int(min(256, max(32, target)))
    else:
        target = UNKNOWN_RATE_WINDOW
    median = float(np.median(lengths))
    if median > LONG_RECORDING * target:
        return target, target, (f"length: recordings (median {median:g} samples) cut into sliding windows of "
                                f"{target} samples, hop {target // 2} (data.window)")
    if lengths.min() == lengths.max():
        length = min(int(lengths[0]), MAX_LENGTH)
        return length, 0, f"length: {length} (every sequence is {lengths[0]} samples)"
    p90 = float(np.percentile(lengths, 90))
    length = int(min(MAX_LENGTH, lengths.max(), 8 * math.ceil(p90 / 8)))
    return length, 0, (f"length: {length} (90th percentile of the lengths, {p90:g}; longer sequences keep their "
                       "last samples, shorter ones are padded)")


def _features(ds: SequenceDataset, *, offline_student: bool) -> tuple[str, FeatureSpec | None, int, str]:
    """(`features.preset`, its spec (None for "none"), the channels the models read, note): the auto spec
    when its roles are recognised, its inputs only (`inputs_only`) for an inertial-only recording
    (accelerometer and gyroscope, nothing else) read by an offline student, which standardises each
    window itself; else the raw channels."""
    from edgekit.features import FeatureSpec
    from edgekit.features.channel_names import ACC_STEMS, names_hint

    try:
        spec = FeatureSpec.for_dataset(ds)
    except SpecError:
        shown = ", ".join(ds.channels[:6]) + (", ..." if len(ds.channels) > 6 else "")
        return "none", None, len(ds.channels), (f"features: none, the raw channels (no accelerometer recognised by name among {shown}; "
                        f"the auto spec needs {names_hint(ACC_STEMS)})")
    if offline_student and _inertial(ds):
        raw = spec.inputs_only()
        return "raw", raw, len(raw.names()), (
            f"features: raw, the {len(raw.names())} inertial channels cleaned, no derived feature (the auto spec "
            f"would compute {len(spec.names())}): the offline student standardises each window itself, and on "
            "UCI-HAR it scored 96.81 % alone on the raw channels against 96.37 % on the auto spec (with calibration "
            "augmentation 97.12-97.39 % against 96.50 %; MiniRocket 97.39-97.59 % against 97.52 %)")
    roles = [r for r, cols in (("acc", spec.inputs.acc), ("rot", spec.inputs.rot), ("gyro", spec.inputs.gyro),
                               ("thm", spec.inputs.thm)) if cols]
    if spec.inputs.tof_sensors:
        roles.append(f"{spec.inputs.tof_sensors} ToF")
    extra = f", {len(spec.inputs.extra)} pass-through" if spec.inputs.extra else ""
    omitted = f"; left out: {'; '.join(spec.omitted)}" if spec.omitted else ""
    return "auto", spec, len(spec.names()), f"features: auto spec, {len(spec.names())} features from {', '.join(roles)}{extra}{omitted}"


def _inertial(ds: SequenceDataset) -> bool:
    """Whether every channel of `ds` is an axis of an accelerometer or gyroscope recognised by name
    (`acc_x/y/z`, `body_gyro_x/y/z`, ...): no orientation, thermopile, time-of-flight or other channels."""
    from edgekit.features.channel_names import ACC_STEMS, GYRO_STEMS, find_axes

    axes = {c for stem in ACC_STEMS + GYRO_STEMS for c in (find_axes(ds.channels, (stem,)) or ())}
    return bool(axes) and set(ds.channels) <= axes


def _offline(student: str) -> bool:
    """Whether the student reads whole windows (not streamable sample by sample)."""
    from edgekit.models.registry import get_entry

    entry = get_entry(student)
    return entry.kind == "student" and not entry.streamable


def _budget(stage: str, n: int, batch: int, macs: int, target: int, accelerator: bool,
            min_epochs: int = 1) -> tuple[int, str]:
    """(max_steps, note) of a fit that sees `n` sequences per epoch and spends `macs` on each (`_macs`):
    `target` steps, capped by compute, but at least `min_epochs` epochs (never above `target`)."""
    per_epoch = max(1, n // batch)  # the loop drops a last partial batch
    flops = FIT_SECONDS[stage] * CPU_FLOPS * (ACCELERATOR_FACTOR if accelerator else 1)
    cap = flops / max(1.0, 2 * macs * batch)
    floor = min(target, min_epochs * per_epoch)
    steps = max(per_epoch, floor, min(target, int(cap)))
    why = "" if steps >= target else f", capped by {'accelerator' if accelerator else 'CPU'} time"
    if steps == floor and int(cap) < floor:
        why = f", at least {min_epochs} epochs"
    return steps, f"{stage} {steps} steps (~{steps / per_epoch:.0f} epochs of {per_epoch}{why})"


def _macs(model: ModelConfig, in_chs: int, num_classes: int, length: int) -> int:
    """MACs one training step spends per sequence through `model` as the recipe builds it: the
    forward's, times the passes a step makes (`TRAIN_PASSES`, or the model's own `train_passes`);
    0 for a model fitted in closed form."""
    from edgekit.models import count_macs, create_model
    from edgekit.train.recipe import model_options

    net = create_model(model.name, in_chs=in_chs, num_classes=num_classes, **model_options(model.name, model.options))
    if getattr(net, "closed_form", False):
        return 0  # fitted by one solve (MiniRocket's ridge): no steps to budget
    return int(count_macs(net.eval(), in_chs, length) * getattr(net, "train_passes", TRAIN_PASSES))


def _trains_teachers(teacher: str) -> bool:
    """Whether `--teacher` trains teachers (not `none`, not an existing run)."""
    return teacher == "ensemble" or teacher in _registered_teachers()


def _teachers_held_out(teacher: str) -> bool:
    """Whether `--teacher` is a run directory whose teacher folds left a validation split out."""
    from edgekit.rundir import RunDir

    run = RunDir(Path(teacher))
    return run.is_run() and bool(run.read_json(run.data).get("held_out"))


def _registered_teachers() -> list[str]:
    from edgekit.models import list_models

    return list_models(kind="teacher")


def _data_config(source: str, test_source: str | None, columns: dict[str, str] | None) -> dict:
    """`[data]` naming what the command line named: the source, its test set (a UCI-HAR file's
    own test split, or a UEA `*_TRAIN.ts` file's `*_TEST.ts` sibling when no --test is given) and
    a long table's column roles."""
    from edgekit.data.cmi import is_cmi_table
    from edgekit.data.edge_impulse import is_edge_impulse, is_studio_export
    from edgekit.data.long_table import TABLE_SUFFIXES, TableColumns, scan_table
    from edgekit.data.uci_har import is_uci_har

    data: dict = {"source": source}
    path = Path(source)
    if test_source is not None:
        data["test_source"] = test_source
    elif source != SIMULATOR and path.exists() and is_uci_har(path):
        data.update(train_split="train", test_split="test", extra_test_splits=_uci_extra_splits(path))
    elif source != SIMULATOR and is_studio_export(path):  # Edge Impulse's training/ and testing/ folders
        data.update(train_split="train", test_split="test")
    elif path.suffix.lower() == ".ts" and (sibling := _test_sibling(path)) is not None:
        data["test_source"] = str(sibling)
    if path.is_file() and path.suffix.lower() in TABLE_SUFFIXES:
        given = {k: v for k, v in (columns or {}).items() if v is not None}
        if given or not (is_cmi_table(scan_table(path).collect_schema()) or is_edge_impulse(path)):
            named = TableColumns().for_table(path, given)  # a continuous recording: sequence = ""
            data["columns"] = {k: v for k, v in vars(named).items() if v is not None}
    elif columns and any(v is not None for v in columns.values()):
        raise EdgekitError(f"--*-col flags name the columns of a long table (.csv/.tsv/.parquet); {source} is not one")
    return data


def _uci_extra_splits(path: Path) -> list[str]:
    """["test_exact"] when the npz holds the published test signals beside the recomputed ones
    (in the official folder the two are the same)."""
    from edgekit.data.uci_har import NPZ_NAME

    npz = path if path.is_file() else path / NPZ_NAME
    if not npz.is_file():
        return []
    with np.load(npz) as arrays:
        return ["test_exact"] if "X_test_exact" in arrays.files else []


def _test_sibling(path: Path) -> Path | None:
    match = re.search(r"_TRAIN$", path.stem, flags=re.IGNORECASE)
    if match is None:
        return None
    word = path.stem[match.start() + 1:]
    sibling = path.with_name(path.stem[: match.start() + 1] + ("TEST" if word.isupper() else "test") + path.suffix)
    return sibling if sibling.is_file() else None


def _name(source: str) -> str:
    stem = Path(source).stem if source != SIMULATOR else SIMULATOR
    stem = re.sub(r"[_-]?train$", "", stem, flags=re.IGNORECASE) or stem
    return re.sub(r"[^\w.-]+", "_", stem).strip("_") + "-auto"
