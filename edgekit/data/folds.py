"""Subject-grouped, label-stratified splits: K cross-validation folds and a held-out test split.

A subject never appears on both sides of a split: sequences of one person are correlated
(same wrist, same style), so a random split would measure memorisation of people, not
generalisation to a new wearer. `StratifiedGroupKFold` (scikit-learn) keeps the label mix of
each validation fold close to the whole set while respecting the groups.
"""

from __future__ import annotations

import warnings

import numpy as np

from edgekit.errors import EdgekitError


def subject_folds(labels: np.ndarray, subjects: np.ndarray, k: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """K `(train_idx, val_idx)` pairs; every sequence is in exactly one validation fold."""
    from sklearn.model_selection import StratifiedGroupKFold

    labels, subjects = np.asarray(labels), np.asarray(subjects).astype(str)
    n_subjects = len(np.unique(subjects))
    if k < 2:
        raise EdgekitError(f"folds.k={k}; expected at least 2 (cross-validation needs a held-out fold)")
    if k > n_subjects:
        raise EdgekitError(f"folds.k={k} but the training data has only {n_subjects} subjects; "
                           f"expected folds.k <= {n_subjects} (a subject is never split across folds)")
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        # "least populated class has fewer members than n_splits": expected for rare classes on
        # small data; the split is still subject-grouped, only less balanced
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        folds = [(np.sort(tr), np.sort(va)) for tr, va in splitter.split(np.zeros(len(labels)), labels, subjects)]
    return folds


def fold_of(folds: list[tuple[np.ndarray, np.ndarray]], n: int) -> np.ndarray:
    """`(n,)` fold index of each sequence's validation fold."""
    out = np.full(n, -1, dtype=np.int64)
    for k, (_, val) in enumerate(folds):
        out[val] = k
    return out


def holdout_subjects(labels: np.ndarray, subjects: np.ndarray, fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`(train_idx, test_idx)` with about `fraction` of the subjects held out as a test set.

    Chosen as one fold of a stratified group split with round(1 / fraction) folds, so the test
    subjects' label mix matches the rest."""
    if not 0.0 < fraction < 1.0:
        raise EdgekitError(f"data.holdout_subjects={fraction}; expected a fraction in (0, 1)")
    n_subjects = len(np.unique(np.asarray(subjects).astype(str)))
    k = min(max(2, int(round(1.0 / fraction))), n_subjects)
    train, test = subject_folds(labels, subjects, k, seed)[0]
    return train, test


def validation_split(labels: np.ndarray, subjects: np.ndarray, fraction: float,
                     seed: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """`(train_idx, valid_idx, info)`: one of `round(1 / fraction)` folds of the training set,
    held out to monitor the student. Subject-grouped (no person on both sides) when the data has
    at least that many subjects, so the held-out part is whole people and near `fraction`; with
    no subjects (each sequence its own) or fewer, split over sequences. Label-stratified when some
    class has a sequence for every fold (sklearn's condition), else not: the size is kept."""
    n = len(labels)
    if fraction <= 0:
        return np.arange(n), np.zeros(0, np.int64), {"split": "none", "fraction": 0.0, "sequences": 0}
    subjects = np.asarray(subjects).astype(str)
    k = max(2, round(1 / fraction))
    grouped = len(np.unique(subjects)) >= k and len(np.unique(subjects)) < n
    groups = subjects if grouped else np.arange(n).astype(str)
    k = min(k, len(np.unique(groups)))
    stratified = np.bincount(labels).max() >= k
    train_idx, valid_idx = subject_folds(labels if stratified else np.zeros_like(labels), groups, k, seed)[0]
    return train_idx, valid_idx, {"split": "subjects" if grouped else "sequences", "stratified": bool(stratified),
                                  "fraction": fraction, "sequences": int(len(valid_idx)),
                                  "subjects": int(len(np.unique(subjects[valid_idx])))}
