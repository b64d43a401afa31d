"""Metrics: classification report and the CMI competition score, against sklearn and by hand."""

import sys

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, f1_score

from edgekit.data.cmi_schema import GESTURES, NON_TARGET_GESTURES, TARGET_GESTURES
from edgekit.errors import EdgekitError
from edgekit.metrics import classification_report, cmi_score, softmax

NAMES = list(GESTURES)  # 8 targets (indices 0..7) then 10 non-targets (8..17)


def test_metrics_module_does_not_import_torch():
    import subprocess

    code = "import sys, edgekit.metrics; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_softmax_rows_sum_to_one_and_is_stable():
    p = softmax(np.array([[1000.0, 1000.0, -1000.0], [0.0, np.log(3.0), 0.0]]))
    np.testing.assert_allclose(p.sum(1), 1.0)
    np.testing.assert_allclose(p[0], [0.5, 0.5, 0.0], atol=1e-12)
    np.testing.assert_allclose(p[1], [0.2, 0.6, 0.2])


def test_perfect_predictions_score_one():
    y = np.arange(len(NAMES))
    report = classification_report(y, np.eye(len(NAMES)) * 5.0, NAMES)
    assert report["accuracy"] == 1.0 and report["macro_f1"] == 1.0
    assert cmi_score(y, y, NAMES) == {"binary_f1": 1.0, "macro_f1": 1.0, "score": 1.0}


def test_classification_report_matches_sklearn_and_respects_class_order():
    rng = np.random.default_rng(0)
    names = ["walk", "sit", "stand", "lie"]
    y_true = rng.integers(0, 4, 60)
    scores = rng.normal(size=(60, 4)) + np.eye(4)[y_true] * 1.5
    y_pred = scores.argmax(1)
    report = classification_report(y_true, scores, names)
    assert report["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro", zero_division=0))
    assert report["confusion"] == confusion_matrix(y_true, y_pred, labels=range(4)).tolist()
    per_f1 = f1_score(y_true, y_pred, average=None, labels=range(4), zero_division=0)
    assert list(report["per_class"]) == names
    for i, name in enumerate(names):
        assert report["per_class"][name]["f1"] == pytest.approx(per_f1[i])
        assert report["per_class"][name]["support"] == int((y_true == i).sum())
    # predicted labels, as indices or names, give the same report as the scores
    assert classification_report(y_true, y_pred, names) == report
    assert classification_report([names[i] for i in y_true], [names[i] for i in y_pred], names) == report


def test_classification_report_hand_example():
    # true a a b b c, predicted a b b b a
    report = classification_report(np.array([0, 0, 1, 1, 2]), np.array([0, 1, 1, 1, 0]), ["a", "b", "c"])
    assert report["accuracy"] == pytest.approx(3 / 5)
    assert report["confusion"] == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    a, b, c = (report["per_class"][k] for k in "abc")
    assert (a["precision"], a["recall"]) == (pytest.approx(0.5), pytest.approx(0.5))
    assert (b["precision"], b["recall"], b["f1"]) == (pytest.approx(2 / 3), 1.0, pytest.approx(0.8))
    assert c == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert report["macro_f1"] == pytest.approx((0.5 + 0.8 + 0.0) / 3)


def test_cmi_score_hand_example():
    t0, t1 = NAMES.index(TARGET_GESTURES[0]), NAMES.index(TARGET_GESTURES[1])
    n0, n1 = NAMES.index(NON_TARGET_GESTURES[0]), NAMES.index(NON_TARGET_GESTURES[1])
    y_true = np.array([t0, t0, t1, n0, n1])
    # t0→t0 ok, t0→t1 wrong target, t1→n0 target missed, n0→n1 (another non-target: fine), n1→n1
    y_pred = np.array([t0, t1, n0, n1, n1])
    got = cmi_score(y_true, y_pred, NAMES)
    # binary: true T T T N N, pred T T N N N → tp 2, fp 0, fn 1 → F1 = 4/5
    assert got["binary_f1"] == pytest.approx(0.8)
    # macro over {t0, t1, non_target}: t0 P=1 R=1/2 F1=2/3; t1 P=0 → 0; non_target P=2/3 R=1 F1=0.8
    assert got["macro_f1"] == pytest.approx((2 / 3 + 0.0 + 0.8) / 3)
    assert got["score"] == pytest.approx(0.5 * 0.8 + 0.5 * (2 / 3 + 0.8) / 3)


def test_cmi_score_matches_the_official_definition_with_sklearn():
    rng = np.random.default_rng(1)
    y_true = rng.integers(0, len(NAMES), 300)
    y_pred = np.where(rng.random(300) < 0.6, y_true, rng.integers(0, len(NAMES), 300))
    true_names, pred_names = np.array(NAMES)[y_true], np.array(NAMES)[y_pred]
    targets = set(TARGET_GESTURES)
    binary = f1_score([g in targets for g in true_names], [g in targets for g in pred_names],
                      pos_label=True, average="binary", zero_division=0)
    collapse = np.vectorize(lambda g: g if g in targets else "non_target")
    macro = f1_score(collapse(true_names), collapse(pred_names), average="macro", zero_division=0)
    got = cmi_score(y_true, y_pred, NAMES)
    assert got["score"] == pytest.approx(0.5 * binary + 0.5 * macro)
    assert cmi_score(true_names, pred_names, NAMES) == got


def test_confusing_non_targets_does_not_lower_the_cmi_score():
    y_true = np.arange(len(NAMES))
    y_pred = y_true.copy()
    y_pred[8:] = np.roll(y_pred[8:], 1)  # every non-target predicted as another non-target
    assert cmi_score(y_true, y_pred, NAMES)["score"] == 1.0
    assert classification_report(y_true, y_pred, NAMES)["macro_f1"] < 1.0
    # but a target predicted as a non-target lowers it
    y_pred[0] = 8
    assert cmi_score(y_true, y_pred, NAMES)["score"] < 1.0


def test_cmi_score_follows_class_names_order():
    shuffled = list(reversed(NAMES))
    y_true = np.array([shuffled.index(TARGET_GESTURES[0]), shuffled.index(NON_TARGET_GESTURES[0])])
    y_pred = np.array([shuffled.index(NON_TARGET_GESTURES[3]), shuffled.index(NON_TARGET_GESTURES[0])])
    got = cmi_score(y_true, y_pred, shuffled)
    assert got["binary_f1"] == 0.0  # the only target was missed
    assert got["macro_f1"] == pytest.approx((0.0 + 2 / 3) / 2)


def test_metric_input_errors():
    with pytest.raises(EdgekitError, match="outside"):
        classification_report([0, 5], [0, 1], ["a", "b"])
    with pytest.raises(EdgekitError, match="samples"):
        classification_report([0, 1, 1], [0, 1], ["a", "b"])
    with pytest.raises(EdgekitError, match="score columns"):
        classification_report([0, 1], np.zeros((2, 3)), ["a", "b"])
    with pytest.raises(EdgekitError, match="not among"):
        cmi_score(["Wave hello"], ["dance"], NAMES)
    with pytest.raises(EdgekitError, match="target gesture"):
        cmi_score([0, 1], [0, 1], ["walk", "sit"])
