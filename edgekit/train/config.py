"""Typed recipe: the dataclasses a `recipes/**.toml` file is read into.

One TOML table per section (`[data]`, `[features]`, `[teachers]`, `[student]`, `[train]`,
`[distill]`, `[device]`, `[logging]`); `[train]` nests the optimizer (`[train.optim]`), losses
(`[train.loss]`) and augmentations (`[train.augment]`), whose dataclasses live next to the code
that reads them (`schedule.py`, `losses.py`, `augment.py`). Fields typed `Literal[...]` are
choices and ranges sit on the fields: `edgekit.config_io` reads a recipe, and an error names the
key and what is allowed. Models are named through the registry (`edgekit models list`), never by
import path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import Field, with_config

from edgekit.config_io import FORBID, ConfigError, Fraction, NonNegative, NonNegativeInt, PositiveFloat, PositiveInt
from edgekit.data.long_table import TableColumns
from edgekit.train.augment import AugmentConfig
from edgekit.train.losses import LossConfig
from edgekit.train.schedule import OptimConfig
from edgekit.train.stopping import PlateauConfig

SIMULATOR = "simulator"


@dataclass
class DataConfig:
    source: str = SIMULATOR  # "simulator" or a dataset path (`load_dataset` picks the loader)
    simulate_sequences: Annotated[int, Field(ge=10, description="at least 10 sequences")] = 400  # simulator only
    simulate_seed: int = 0
    simulate_subjects: int = 0  # 0 = the simulator's default (about one per 100 sequences, as in CMI)
    train_split: str | None = None  # loader `split=` for the training data (UCI-HAR: "train")
    test_split: str | None = None  # test set from the same source (UCI-HAR: "test")
    extra_test_splits: list[str] = field(default_factory=list)  # also reported (UCI-HAR: ["test_exact"])
    test_source: str | None = None  # a separate labelled test file
    holdout_subjects: float = 0.2  # no test given: this fraction of subjects becomes the test set
    length: PositiveInt = 128  # samples per model input: longer sequences are cropped, shorter right-padded
    keep: Literal["last", "first"] = "last"  # CMI: the gesture is at the end, keep the last samples
    window: int = 0  # > 0: cut long recordings into sliding windows of this many samples
    hop: int = 0  # window hop (0 = window // 2)
    # the file's sample rate where it carries none: a long table whose order column is an integer
    # counter, a UEA .ts file (assumed 1 Hz otherwise); None = from the file
    sample_rate_hz: PositiveFloat | None = None
    columns: TableColumns | None = None  # long tables: which column plays which role; None = the defaults
    # per-sequence demographics (the loader's per-subject table: CMI, the simulator) fed to the models
    # that take them (the teachers; `train/demographics.py`): "auto" = when the data has them
    demographics: Literal["auto", "none"] = "auto"


@dataclass
class FeaturesConfig:
    # "auto" = FeatureSpec.for_dataset; "raw" = its inputs only, cleaned, no derived feature
    # (`FeatureSpec.inputs_only`: streams and runs on the C bridge); "none" = the dataset's raw
    # channels with no feature pipeline (any data, but `edgekit stream` needs a spec)
    preset: Literal["auto", "raw", "cmi_default", "uci_har_default", "none"] = "auto"
    spec: dict[str, Any] | None = None  # inline FeatureSpec.to_dict(); wins over `preset`


@dataclass
class ModelConfig:
    name: str = ""
    options: dict[str, Any] = field(default_factory=dict)  # builder keyword arguments


@dataclass
class TeachersConfig:
    members: list[ModelConfig] = field(default_factory=list)
    folds: Annotated[int, Field(ge=2, description="at least 2 folds")] = 5  # subject-grouped, label-stratified
    fold_seed: int = 0
    epochs: PositiveInt | None = None  # None = train.epochs
    max_steps: PositiveInt | None = None  # the folds' budget in optimizer steps (see `stage_budget`)
    # "nonneg_logloss": non-negative member weights minimising OOF log-loss of the pooled
    # log-probabilities; "logistic": multinomial logistic regression on the members' OOF log-probs
    stacking: Literal["nonneg_logloss", "logistic"] = "nonneg_logloss"
    tta_shifts: list[NonNegativeInt] = field(default_factory=list)  # extra views dropping the first s samples
    # more test-time views, averaged like the shifts (`tta.py`): "mirror" = the
    # handedness-mirrored sequence (CMI schema, a spec with mirror = true); "flip" = every input
    # sign-flipped, x -> -x (G2Net; raw channels only, for tasks symmetric under it). Off by default:
    # measured (issue 14), mirror was neutral on the simulator with train.augment.mirror_p = 0.5 and
    # cost ~0.08 CMI score without; flip cost ~0.1 on raw simulator channels and 73 points of UCI-HAR
    # accuracy (gravity's direction tells activities apart: neither task is symmetric under it)
    tta: list[Literal["mirror", "flip"]] = field(default_factory=list)
    # "student_validation": the folds are made of the training sequences outside the student's
    # validation split (`student.valid_fraction`), and those sequences get the mean of every fold
    # model's answer as their out-of-fold guess. Otherwise the soft labels the student learns from
    # come from teachers fitted on its validation subjects, and its validation score rewards
    # distillation that the test set does not (measured on UCI-HAR: README, issue 12). "none":
    # the folds cover every training sequence (the teachers see 1/(1 - fraction) more data)
    holdout: Literal["none", "student_validation"] = "none"

    def __post_init__(self) -> None:
        names = [m.name for m in self.members]
        if len(set(names)) != len(names):
            raise ConfigError(f"members names {names} repeat; each member is saved under its name, "
                              f"give each a distinct model")


@dataclass
class StudentConfig:
    name: str = "modern_tcn_xs"
    options: dict[str, Any] = field(default_factory=dict)
    epochs: PositiveInt | None = None  # None = train.epochs
    max_steps: PositiveInt | None = None  # the student's budget in optimizer steps (see `stage_budget`)
    # carved from the training set to monitor (`train.monitor`): subject-grouped when the data has
    # enough subjects, else label-stratified; 0 = none: the student trains on all of it for its
    # whole budget and keeps its last weights (so `train.patience` and `[train.plateau]` need > 0)
    valid_fraction: Annotated[float, Field(ge=0, lt=1, description="a fraction in [0, 1)")] = 0.15


@dataclass
class DistillConfig:
    alpha: Fraction = 0.5  # weight of CE on the (smoothed) hard labels; 1 - alpha goes to KD
    temperature: PositiveFloat = 2.0
    soft_labels: Literal["stacked", "average"] = "stacked"  # which ensemble OOF probabilities to learn from
    physics_weight: float | None = None  # None = the student's own `physics_weight`
    pseudo_min_confidence: float = 0.0  # --unlabeled: keep sequences the ensemble is this sure of
    # "oof": the ensemble's fixed out-of-fold soft labels; "function_matching": every saved fold model
    # run on the very (augmented) batch the student sees, every step (`online_teacher.py`)
    mode: Literal["oof", "function_matching"] = "oof"
    # "oof": where the ensemble's out-of-fold guess is wrong, swap its log-probabilities of the true
    # and the guessed class (Knowledge Adjustment, Wen et al. 2019, arXiv 1911.07471), so the soft
    # label ranks the true class first and keeps the rest of its shape; "none": as the ensemble said
    adjust: Literal["none", "swap"] = "none"
    # G2Net's pseudo-label rounds (needs --unlabeled): each round the teachers label the unlabelled
    # sequences and every fold is retrained with the confident ones added to its training part;
    # the student then learns from the last round's teachers (`run.py`)
    pseudo_rounds: NonNegativeInt = 0
    # more α to try beside `alpha` (1.0 = the hard labels alone): the student trains once per value,
    # each from the same seed and split, and keeps the one its validation split scores best on
    # `train.monitor`, a tie going to the larger α (`distill.choose_alpha`). Needs a validation split the teachers never saw:
    # `teachers.holdout = "student_validation"` (or a `--teacher RUN_DIR` trained that way)
    alpha_candidates: list[Fraction] = field(default_factory=list)
    # ... and only if it beats the largest α tried in this share of paired bootstrap resamples of the
    # validation split (else the largest α is kept); 0 keeps the best score however small its lead
    alpha_confidence: Annotated[float, Field(ge=0, lt=1, description="a share in [0, 1)")] = 0.95


@dataclass
class TrainConfig:
    """`[train]`, shared by every stage. Budget: a stage trains `max_steps` optimizer steps, or
    `epochs` epochs when `max_steps` is unset (a stage's own `teachers.*`/`student.*` setting
    wins: `stage_budget`); warmup + cosine decay over that budget. Validation: at each epoch's end
    (or every `eval_every_steps`) the stage's validation split (a teacher's held-out fold, the
    student's `student.valid_fraction`) is scored on `monitor`; the best weights are returned
    (`restore_best`), `patience` and `[train.plateau]` may end the stage sooner, never before
    `min_steps` (`stopping.py`). Both are off by default: with the cosine horizon at the budget
    the rate is still high when a stage stops early, so they pay with a generous budget (or a
    constant rate: `optim.min_lr_ratio = 1` with `[train.plateau]`)."""

    epochs: PositiveInt = 10
    max_steps: PositiveInt | None = None  # budget in optimizer steps; None = epochs × steps per epoch
    min_steps: NonNegativeInt = 0  # neither patience nor a plateau ends a stage before this step
    eval_every_steps: NonNegativeInt = 0  # validate (and checkpoint) every N steps; 0 = at each epoch's end
    # "auto" = the CMI competition score on CMI-schema data, macro-F1 otherwise; "loss" = val log-loss
    monitor: Literal["auto", "macro_f1", "accuracy", "cmi_score", "loss"] = "auto"
    patience: NonNegativeInt = 0  # evaluations without improvement that end a stage; 0 = off (run the budget)
    min_delta: NonNegative = 0.0  # an improvement must exceed this to reset patience
    restore_best: bool = True  # keep the best-scoring evaluated weights, not the last (needs a validation split)
    plateau: PlateauConfig = field(default_factory=PlateauConfig)  # ReduceLROnPlateau; off by default
    batch_size: PositiveInt = 64
    eval_batch_size: PositiveInt = 256
    ema_decay: Annotated[float, Field(ge=0, lt=1, description="0 (off) or a value in (0, 1)")] = 0.0  # 0 = off; the EMA weights are the ones evaluated and saved
    ema_switch: bool = False  # Switch EMA: at each epoch's end training continues from the EMA weights (`ema.py`)
    length_grouped: bool = True  # batch sequences of similar length; each batch is cut to its longest
    optim: OptimConfig = field(default_factory=OptimConfig)  # lr, warmup_frac, min_lr_ratio, grad_clip
    loss: LossConfig = field(default_factory=LossConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    def __post_init__(self) -> None:
        if self.ema_switch and self.ema_decay == 0:
            raise ConfigError("ema_switch continues each epoch from the EMA weights and ema_decay = 0 keeps none; "
                              "expected ema_decay in (0, 1) (e.g. 0.999) or ema_switch = false")
        if self.ema_switch and self.optim.name.schedule_free:
            raise ConfigError(f"ema_switch rewrites the weights a schedule-free optimizer interpolates "
                              f"({self.optim.name.value!r} keeps its own average); expected optim.name = 'adamw' "
                              "or ema_switch = false")


def stage_budget(train: TrainConfig, epochs: int | None, max_steps: int | None) -> tuple[int, int | None]:
    """`(epochs, max_steps)` of a stage given its own `[teachers]`/`[student]` settings: a stage
    that sets either uses only its own (max_steps wins over epochs); otherwise `[train]`'s."""
    if epochs is not None or max_steps is not None:
        return epochs or train.epochs, max_steps
    return train.epochs, train.max_steps


@dataclass
class DeviceConfig:
    device: str = "auto"  # "auto" (CUDA when present), "cpu", "cuda", "cuda:1"
    amp: bool = True  # bf16 autocast on CUDA (ignored on CPU)
    compile: bool = False  # torch.compile the model
    threads: int = 0  # torch CPU threads; 0 = torch's default


@dataclass
class LoggingConfig:
    """`[logging]`: the experiment logs each stage writes from the loop's progress events
    (`logs.py`). TensorBoard and MLflow need their extras (`edgekit[tensorboard]`, `edgekit[mlflow]`)."""

    csv: bool = True  # <stage folder>/log.csv, one row per optimizer step
    tensorboard: bool = False  # <stage folder>/tensorboard/ event files
    mlflow: bool = False  # one MLflow run per command, a nested run per stage
    mlflow_tracking_uri: str = ""  # "" = MLflow's default (MLFLOW_TRACKING_URI, else its local store)
    mlflow_experiment: str = ""  # "" = the recipe's name


@with_config(FORBID)  # unknown keys are errors, in every table nested in a recipe
@dataclass
class Recipe:
    name: str = "recipe"
    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    teachers: TeachersConfig = field(default_factory=TeachersConfig)
    student: StudentConfig = field(default_factory=StudentConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)
    device: DeviceConfig = field(default_factory=DeviceConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)

    def __post_init__(self) -> None:
        if self.distill.alpha_candidates and (self.student.valid_fraction == 0 or self.teachers.holdout == "none"):
            raise ConfigError("distill.alpha_candidates chooses α on the student's validation split, which needs "
                              "student.valid_fraction > 0 and teachers that never saw it; expected "
                              "teachers.holdout = 'student_validation' (else the soft labels carry the validation "
                              "subjects and the choice favours distillation) or no alpha_candidates")
        if self.student.valid_fraction == 0 and (self.train.patience > 0 or self.train.plateau.patience > 0):
            raise ConfigError("train.patience and train.plateau.patience stop the student on its validation split, "
                              "and student.valid_fraction = 0 gives it none; expected student.valid_fraction > 0 "
                              "(e.g. 0.15) or both patiences 0")
