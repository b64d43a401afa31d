"""Subject-grouped folds and fixed-length views of sequences."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.data.dataset import SequenceDataset
from edgekit.data.folds import fold_of, holdout_subjects, subject_folds
from edgekit.data.windows import crop_or_pad, sliding_windows
from edgekit.errors import EdgekitError


def _groups(n=240, subjects=12, classes=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, classes, n), np.array([f"S{i % subjects}" for i in rng.permutation(n)])


def test_folds_never_split_a_subject_and_cover_every_sequence():
    labels, subjects = _groups()
    folds = subject_folds(labels, subjects, 4, seed=1)
    assert len(folds) == 4
    for train, val in folds:
        assert not set(subjects[train]) & set(subjects[val])
        assert len(train) + len(val) == len(labels)
    owner = fold_of(folds, len(labels))
    assert (owner >= 0).all()
    assert sorted(np.concatenate([v for _, v in folds]).tolist()) == list(range(len(labels)))


def test_folds_are_stratified_and_reproducible():
    labels, subjects = _groups(n=600, subjects=30)
    folds = subject_folds(labels, subjects, 5, seed=2)
    overall = np.bincount(labels, minlength=4) / len(labels)
    for _, val in folds:
        share = np.bincount(labels[val], minlength=4) / len(val)
        assert np.abs(share - overall).max() < 0.1
    again = subject_folds(labels, subjects, 5, seed=2)
    assert all((a[1] == b[1]).all() for a, b in zip(folds, again))


def test_too_many_folds_is_an_error_naming_the_subject_count():
    labels, subjects = _groups(subjects=3)
    with pytest.raises(EdgekitError, match="only 3 subjects"):
        subject_folds(labels, subjects, 5)


def test_holdout_keeps_subjects_apart():
    labels, subjects = _groups(subjects=10)
    train, test = holdout_subjects(labels, subjects, 0.2, seed=0)
    assert not set(subjects[train]) & set(subjects[test])
    assert 0.05 < len(test) / len(labels) < 0.4


def test_crop_or_pad_keeps_the_end_and_right_pads():
    seqs = [np.arange(10, dtype=np.float32)[:, None], np.arange(3, dtype=np.float32)[:, None] + 100]
    x, mask = crop_or_pad(seqs, 5, keep="last")
    assert x[0, :, 0].tolist() == [5, 6, 7, 8, 9] and mask[0].all()
    assert x[1, :, 0].tolist() == [100, 101, 102, 0, 0] and mask[1].tolist() == [True, True, True, False, False]
    x, _ = crop_or_pad(seqs, 5, keep="first")
    assert x[0, :, 0].tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(EdgekitError, match="keep"):
        crop_or_pad(seqs, 5, keep="middle")


def test_sliding_windows_keep_labels_and_subjects():
    ds = SequenceDataset(sequences=[np.zeros((300, 2)), np.ones((100, 2)), np.ones((20, 2))], channels=("a", "b"),
                         units=("1", "1"), sample_period_s=0.02, labels=[0, 1, 1], class_names=("x", "y"),
                         subjects=["s1", "s2", "s2"], sequence_ids=["r1", "r2", "r3"])
    win = sliding_windows(ds, 128, 64)
    assert len(win) == 3 + 0  # 300 samples → starts 0, 64, 128; 100 and 20 are shorter than a window
    assert all(s.shape == (128, 2) for s in win.sequences)
    assert win.labels.tolist() == [0, 0, 0] and set(win.subjects) == {"s1"}
    assert len(sliding_windows(ds, 64, 64)) == 4 + 1
    assert len(sliding_windows(ds, 128, 64, drop_short=False)) == 5
