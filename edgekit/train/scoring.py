"""Scores of logits against labels, as the loop, the ensemble and the reports need them.

A thin layer over `edgekit.metrics` (one implementation of each metric): accuracy, macro F1 and
log-loss for every dataset, plus the CMI competition score when the classes are CMI gestures.
`monitored_metric` names the one a stage's validation split is judged on (`train.monitor`).

On data with thermopile or ToF channels the test reports hold two more splits beside "test"
(`modalities.sensor_test_views`): `IMU_ONLY_SPLIT`, every test sequence as if IMU-only (its
thermopile and ToF columns nulled: what about half the hidden CMI test looks like), and
`FULL_SENSOR_SPLIT`, the test sequences that carry thermopile or ToF data, as recorded.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from edgekit.config_io import ConfigError
from edgekit.data.cmi_schema import TARGET_GESTURES
from edgekit.metrics import classification_report, cmi_score

IMU_ONLY_SPLIT, FULL_SENSOR_SPLIT = "test_imu_only", "test_full_sensor"


def is_cmi(class_names: Sequence[str]) -> bool:
    return any(name in TARGET_GESTURES for name in class_names)


def monitored_metric(monitor: str, class_names: Sequence[str]) -> str:
    """The `quick_scores` key that `train.monitor` names on data with these classes: "auto" is
    the competition score on CMI-schema data and macro-F1 elsewhere; "loss" is the log-loss."""
    if monitor == "auto":
        return "cmi_score" if is_cmi(class_names) else "macro_f1"
    if monitor == "cmi_score" and not is_cmi(class_names):
        raise ConfigError("train.monitor = 'cmi_score' needs CMI gesture classes, and this data has "
                          f"{list(class_names)[:6]}; expected 'auto', 'macro_f1', 'accuracy' or 'loss'")
    return "log_loss" if monitor == "loss" else monitor


def binary_classes(class_names: Sequence[str]) -> list[int] | None:
    """Indices of the CMI target gestures (the binary head's positives), None for other data."""
    index = [i for i, name in enumerate(class_names) if name in TARGET_GESTURES]
    return index or None


def log_probs(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, np.float64)
    z = z - z.max(1, keepdims=True)
    return z - np.log(np.exp(z).sum(1, keepdims=True))


def log_loss(labels: np.ndarray, logits: np.ndarray) -> float:
    return float(-log_probs(logits)[np.arange(len(labels)), labels].mean())


def quick_scores(labels: np.ndarray, logits: np.ndarray, class_names: Sequence[str]) -> dict[str, float]:
    """accuracy, macro_f1, log_loss (and cmi_score for CMI data): the per-epoch numbers."""
    report = classification_report(labels, logits, class_names)
    out = {"accuracy": report["accuracy"], "macro_f1": report["macro_f1"], "log_loss": log_loss(labels, logits)}
    if is_cmi(class_names):
        out["cmi_score"] = cmi_score(labels, logits, class_names)["score"]
    return out


def full_report(labels: np.ndarray, logits: np.ndarray, class_names: Sequence[str]) -> dict[str, Any]:
    """`quick_scores` plus per-class precision/recall/F1, the confusion matrix and the CMI parts."""
    report = classification_report(labels, logits, class_names)
    report["log_loss"] = log_loss(labels, logits)
    report["n"] = int(len(labels))
    if is_cmi(class_names):
        report["cmi"] = cmi_score(labels, logits, class_names)
    return report


def summary(report: dict[str, Any]) -> dict[str, float]:
    """The headline numbers of a `full_report` (for tables)."""
    out = {k: report[k] for k in ("accuracy", "macro_f1", "log_loss") if k in report}
    if "cmi" in report:
        out["cmi_score"] = report["cmi"]["score"]
    return out
