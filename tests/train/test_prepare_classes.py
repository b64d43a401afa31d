"""A separate long-table test set holds some of training's classes: accepted, its labels mapped onto
training's class indices; a class training never saw is refused, by name."""

from __future__ import annotations

import polars as pl
import pytest

from edgekit.errors import EdgekitError
from edgekit.train.prepare import prepare
from edgekit.train.recipe import recipe_from_dict


def _table(path, labels: list[str]):
    """One 6-sample sequence per label, each from its own subject."""
    rows = [{"sequence_id": f"q{i}", "subject": f"p{i % 4}", "label": label, "time": t * 0.02,
             "ax": float(i + t), "ay": float(i - t)} for i, label in enumerate(labels) for t in range(6)]
    pl.DataFrame(rows).write_csv(path)
    return path


def _recipe(train, test) -> dict:
    return {"name": "classes", "data": {"source": str(train), "test_source": str(test), "length": 6},
            "features": {"preset": "none"}, "student": {"name": "mbconv_tcn_xs"}}


def test_a_test_set_with_some_of_the_classes_is_accepted(tmp_path):
    train = _table(tmp_path / "train.csv", ["run", "sit", "walk"] * 4)
    test = _table(tmp_path / "test.csv", ["walk", "sit", "walk"])  # no "run": its own classes are (sit, walk)
    prepared = prepare(recipe_from_dict(_recipe(train, test)), needs_folds=False)
    assert prepared.class_names == ("run", "sit", "walk")
    assert prepared.tests["test"].labels.tolist() == [2, 1, 2]  # training's indices, not the test file's 1, 0, 1


def test_a_class_training_never_saw_is_refused_by_name(tmp_path):
    train = _table(tmp_path / "train.csv", ["run", "sit"] * 4)
    test = _table(tmp_path / "test.csv", ["sit", "jump"])
    with pytest.raises(EdgekitError, match=r"test set 'test' has classes \['jump'\] that the training data lacks"):
        prepare(recipe_from_dict(_recipe(train, test)), needs_folds=False)
