"""Run directories: everything a later step needs, in one folder with a fixed layout.

```
RUN_DIR/
  recipe.toml              the resolved recipe (all overrides applied)
  feature_spec.json        FeatureSpec.to_json() of the features the models were trained on
  scaler.json              per-feature-channel {"mean": [...], "std": [...]} (folded into exports)
  data.json                {"class_names", "channels", "length", "sample_period_s", "source", ...}
  metrics.json             the run's report (CV, ensemble, student, per-class)
  confusion.png
  teachers/<member>/fold<k>/model.pt + model.json + checkpoint.pt (resume state)
  teachers/oof_logits.npy  (N_train, K) out-of-fold logits of the ensemble; per member too
  teachers/test_logits.npy (N_test, K) averaged over folds and members
  teachers/ensemble.json   members, fitted stacking weights, CV report, fingerprint
  student/model.pt + model.json
```
A model is saved as `model.pt` (a state_dict, loaded with `weights_only=True`) next to
`model.json` = {"name": registry name, "options": builder keyword arguments}; `load_model`
rebuilds it through the registry. Options are stored as plain JSON (a dataclass as its fields) and
read back like a recipe's (`model_options`: the builder's annotations say which tables are
dataclasses, e.g. resnet1d's `stages`), so model.json never names a class. Writes are atomic.

`edgekit train` also writes (see `edgekit/train/run.py`):
```
  data.json                + train_ids_digest (order of the training sequences), teacher_fingerprint
                             (of the ensemble the student learned from, or null), folds (val indices)
  teachers/<member>/fold<k>/done.json      fold finished: seconds, samples/s, val scores, history
  teachers/<member>/fold<k>/stage.json, student/stage.json   inputs + fingerprint of the stage
                             (+ model_sha256 of its model.pt); see edgekit/train/fingerprint.py
  teachers/<member>/fold<k>/val_logits.npy, <split>_logits.npy   (log-probabilities)
  teachers/<member>/oof_logits.npy, <split>_logits.npy           fold-averaged per member
  teachers/oof_logits.npy, <split>_logits.npy                    the STACKED ensemble
  teachers/oof_logits_average.npy, <split>_logits_average.npy    plain averaging
  student/checkpoint.pt, report.json, history.png, <split>_logits.npy
```
All logits are log-probabilities; `<split>` is `test` plus any extra test splits (`test_exact`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, is_dataclass
from pathlib import Path
from typing import Any

from edgekit.config_io import to_plain
from edgekit.errors import EdgekitError
from edgekit.io import write_json_atomic


@dataclass(frozen=True)
class RunDir:
    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def recipe(self) -> Path:
        return self.root / "recipe.toml"

    @property
    def feature_spec(self) -> Path:
        return self.root / "feature_spec.json"

    @property
    def scaler(self) -> Path:
        return self.root / "scaler.json"

    @property
    def data(self) -> Path:
        return self.root / "data.json"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.json"

    @property
    def teachers(self) -> Path:
        return self.root / "teachers"

    @property
    def ensemble(self) -> Path:
        """The teacher ensemble's manifest: members, fitted stacker, fold count, CV report."""
        return self.teachers / "ensemble.json"

    @property
    def student(self) -> Path:
        return self.root / "student"

    @property
    def export(self) -> Path:
        """`edgekit export`'s default output; made from the student, so retraining it removes this."""
        return self.root / "export"

    def is_run(self) -> bool:
        """Whether `root` holds a run of `edgekit train` (its data.json names the training sequences)."""
        try:
            return "train_ids_digest" in json.loads(self.data.read_text())
        except (OSError, ValueError, TypeError):
            return False

    def member_fold(self, member: str, fold: int) -> Path:
        return self.teachers / member / f"fold{fold}"

    # Files every model folder (a teacher's fold, a member's or the ensemble's folder, the student)
    # names the same way; static because the training code is handed the folder, not the run.
    CHECKPOINT_NAME = "checkpoint.pt"  # not a dataclass field: it has no annotation

    @staticmethod
    def checkpoint_in(folder: Path) -> Path:
        """The per-epoch resume state of the model trained in `folder`."""
        return Path(folder) / RunDir.CHECKPOINT_NAME

    @staticmethod
    def candidate_in(folder: Path, alpha: float) -> Path:
        """Where the student trains at one α of `distill.alpha_candidates` (its checkpoint)."""
        return Path(folder) / "alpha" / f"{alpha:g}"

    @staticmethod
    def checkpoints_in(folder: Path) -> list[Path]:
        """The resume states in `folder`: its own and those of its α candidates."""
        return [p for p in [RunDir.checkpoint_in(folder), *sorted(Path(folder).glob(f"alpha/*/{RunDir.CHECKPOINT_NAME}"))]
                if p.exists()]

    @staticmethod
    def logits_in(folder: Path, split: str, kind: str = "") -> Path:
        """`<split>_logits<kind>.npy` (log-probabilities): split `val`, `oof`, `test`, ...; kind
        `""` or `"_average"` (the plain average beside the stacked ensemble)."""
        return Path(folder) / f"{split}_logits{kind}.npy"

    def read_json(self, path: Path) -> Any:
        if not path.exists():
            raise EdgekitError(f"{self.root}: missing {path.name}; is this a run directory made by `edgekit train`?")
        return json.loads(path.read_text())


def save_model(folder: Path, model, name: str, options: dict[str, Any]) -> None:
    """Write `model.pt` (state_dict) and `model.json` ({"name", "options"}) into `folder`. The
    options are complete (the builder's defaults filled in), so a later edgekit whose defaults
    differ rebuilds the model that was trained. A student's defaults live in its preset config,
    which the built model keeps (`model.config`): that is recorded whole."""
    from edgekit.models.registry import resolved_options
    from edgekit.train.checkpoint import write_torch_file

    folder = Path(folder)
    resolved = resolved_options(name, dict(options))
    config = getattr(model, "config", None)
    if is_dataclass(config):
        resolved |= to_plain(config)
    write_torch_file(folder / "model.pt", model.state_dict(), "model", "free some space and retrain the stage")
    write_json_atomic(folder / "model.json", {"name": name, "options": to_plain(resolved)})


def load_model(folder: Path, map_location: str = "cpu"):
    """Rebuild a model saved by `save_model` through the registry, in eval mode."""
    from edgekit.models.registry import create_model
    from edgekit.train.checkpoint import read_torch_file
    from edgekit.train.recipe import model_options

    folder = Path(folder)
    meta_path, weights_path = folder / "model.json", folder / "model.pt"
    for path in (meta_path, weights_path):
        if not path.exists():
            raise EdgekitError(f"{folder}: missing {path.name}; expected a model saved by edgekit (model.pt + model.json)")
    try:
        meta = json.loads(meta_path.read_text())
        name, options = meta["name"], meta["options"]
    except (ValueError, KeyError, TypeError) as exc:
        raise EdgekitError(f"{meta_path}: not a model.json written by edgekit ({type(exc).__name__}: {exc}); "
                           'expected {"name": ..., "options": {...}}; retrain or restore it') from None
    model = create_model(name, **model_options(name, options, f"{meta_path}: options"))
    state = read_torch_file(weights_path, "retrain or restore it", map_location=map_location)
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as exc:  # other layers or shapes than model.json builds
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[-1].strip()
        raise EdgekitError(f"{weights_path}: its weights do not fit the {name} that {meta_path.name} describes "
                           f"({detail}); retrain or restore both files") from None
    return model.eval()

