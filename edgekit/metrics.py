"""Classification metrics with numpy and scikit-learn only (no torch), shared by training, export
and the runtime's accuracy reports.

`cmi_score` is the CMI "Detect Behavior with Sensor Data" competition metric as its official
scoring code defines it: 0.5 · binary F1 (target vs non-target gesture) + 0.5 · macro F1 over the
8 target gestures and one `non_target` class standing for every other gesture, with scikit-learn's
`f1_score(..., zero_division=0)` (the macro average runs over the labels present in the truth or
the predictions, as the official code does not pass `labels`).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from edgekit.data.cmi_schema import TARGET_GESTURES
from edgekit.errors import EdgekitError
from edgekit.numeric import softmax  # noqa: F401  (re-exported: callers take it with the metrics)

NON_TARGET = "non_target"


def _labels(values: Any, class_names: Sequence[str], what: str) -> np.ndarray:
    """Class indices from `(N,)` ints, `(N,)` class-name strings, or `(N, K)` scores (argmax)."""
    arr = np.asarray(values)
    k = len(class_names)
    if arr.ndim == 2:
        if arr.shape[1] != k:
            raise EdgekitError(f"{what} has {arr.shape[1]} score columns but there are {k} class names")
        return arr.argmax(axis=1)
    if arr.ndim != 1:
        raise EdgekitError(f"{what} must be (N,) labels or (N, {k}) scores, got shape {arr.shape}")
    if arr.dtype.kind in "USO":
        index = {name: i for i, name in enumerate(class_names)}
        unknown = sorted({str(v) for v in arr if v not in index})
        if unknown:
            raise EdgekitError(f"{what} has labels {unknown[:5]} that are not among the class names "
                               f"{list(class_names)}")
        return np.array([index[v] for v in arr], dtype=np.int64)
    if arr.dtype.kind not in "iu":
        raise EdgekitError(f"{what} must hold integer class indices or class names, got dtype {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() >= k):
        raise EdgekitError(f"{what} has class indices outside [0, {k}): min {arr.min()}, max {arr.max()}")
    return arr.astype(np.int64)


def _pair(y_true: Any, y_pred: Any, class_names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    if len(class_names) == 0:
        raise EdgekitError("class_names is empty; expected one name per class")
    t = _labels(y_true, class_names, "y_true")
    p = _labels(y_pred, class_names, "predictions")
    if t.shape[0] != p.shape[0]:
        raise EdgekitError(f"y_true has {t.shape[0]} samples but the predictions have {p.shape[0]}")
    if t.shape[0] == 0:
        raise EdgekitError("no samples to score")
    return t, p


def classification_report(y_true: Any, scores: Any, class_names: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro F1, per-class precision/recall/F1/support and the confusion matrix.

    `y_true`: `(N,)` class indices or names. `scores`: `(N, K)` logits or probabilities (argmax
    is taken) or `(N,)` predicted indices or names. Rows of `confusion` are true classes, columns
    predicted, both in `class_names` order. `macro_f1` averages over the classes present in the
    truth or the predictions (scikit-learn's default); `per_class` lists every class.
    """
    t, p = _pair(y_true, scores, class_names)
    labels = list(range(len(class_names)))
    precision, recall, f1, support = precision_recall_fscore_support(t, p, labels=labels, zero_division=0)
    per_class = {
        name: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
               "support": int(support[i])}
        for i, name in enumerate(class_names)
    }
    return {
        "accuracy": float(accuracy_score(t, p)),
        "macro_f1": float(f1_score(t, p, average="macro", zero_division=0)),
        "per_class": per_class,
        "confusion": confusion_matrix(t, p, labels=labels).tolist(),
    }


def cmi_score(y_true: Any, y_pred: Any, class_names: Sequence[str],
              target_names: Sequence[str] = TARGET_GESTURES) -> dict[str, float]:
    """The CMI competition metric (module docs): `{"binary_f1", "macro_f1", "score"}`.

    `y_true`, `y_pred`: `(N,)` class indices into `class_names` or gesture names; `y_pred` may also
    be `(N, K)` scores (argmax). Class names not in `target_names` are non-target gestures.
    """
    t, p = _pair(y_true, y_pred, class_names)
    targets = set(target_names)
    is_target = np.array([name in targets for name in class_names])
    if not is_target.any():
        raise EdgekitError(f"none of the class names {list(class_names)[:5]}... is a target gesture; "
                           f"cmi_score expects CMI gesture names such as {list(target_names)[:2]}")
    collapsed = np.array([name if name in targets else NON_TARGET for name in class_names], dtype=object)
    binary = f1_score(is_target[t], is_target[p], pos_label=True, average="binary", zero_division=0)
    macro = f1_score(collapsed[t].astype(str), collapsed[p].astype(str), average="macro", zero_division=0)
    return {"binary_f1": float(binary), "macro_f1": float(macro), "score": float(0.5 * binary + 0.5 * macro)}
