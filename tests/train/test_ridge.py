"""The closed-form ridge head (`train/ridge.py`): its leave-one-out shortcut equals refitting
without each row, its weights are the ridge solution of the chosen penalty (both Gram branches),
and the temperature makes the scores calibrated logits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from edgekit.train.ridge import PENALTIES, fit_ridge_head


def _problem(n, d, k=3, seed=0, noise=1.5, centres_seed=None):
    g = np.random.default_rng(seed)
    labels = np.arange(n) % k
    centres = np.random.default_rng(seed if centres_seed is None else centres_seed).normal(size=(k, d))
    x = centres[labels] + noise * g.normal(size=(n, d))
    return torch.from_numpy(x), labels


def _ridge(x, labels, k, penalty):
    """Plain primal ridge with an unpenalised intercept on ±1 one-hot targets: (W (d, k), b (k,))."""
    y = -np.ones((len(x), k))
    y[np.arange(len(x)), labels] = 1.0
    xm, ym = x.mean(0), y.mean(0)
    xc = x - xm
    w = np.linalg.solve(xc.T @ xc + penalty * np.eye(x.shape[1]), xc.T @ (y - ym))
    return w, ym - xm @ w


def _relative_penalty(x, penalty_rel):
    xc = x - x.mean(0)
    s2 = np.linalg.svd(xc, compute_uv=False) ** 2
    s2 = s2[s2 > s2.max() * 1e-10]
    return penalty_rel * s2.mean()


@pytest.mark.parametrize("n,d", [(24, 60), (60, 8)])  # the Z Zᵀ branch and the Zᵀ Z branch
def test_leave_one_out_accuracy_equals_refitting_without_each_row(n, d):
    x, labels = _problem(n, d)
    head = fit_ridge_head(x, labels, 3)
    assert head.penalty in PENALTIES
    xn = x.numpy()
    correct = 0
    for i in range(n):
        rest = np.arange(n) != i
        # the penalty is relative to the full set's singular values, as the shortcut's is
        w, b = _ridge(xn[rest], labels[rest], 3, _relative_penalty(xn, head.penalty))
        correct += int(np.argmax(xn[i] @ w + b) == labels[i])
    assert head.loo_accuracy == pytest.approx(correct / n)


@pytest.mark.parametrize("n,d", [(24, 60), (60, 8)])
def test_weights_are_the_ridge_solution_times_the_temperature(n, d):
    x, labels = _problem(n, d, seed=1)
    head = fit_ridge_head(x, labels, 3)
    w, b = _ridge(x.numpy(), labels, 3, _relative_penalty(x.numpy(), head.penalty))
    np.testing.assert_allclose(head.weight.numpy(), head.temperature * w.T, rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(head.bias.numpy(), head.temperature * b, rtol=1e-3, atol=1e-5)


def test_temperature_turns_scores_into_calibrated_logits():
    # overlapping classes: the leave-one-out accuracy is well below 1, so the fitted logits must not
    # be as confident as on a separable set
    x, labels = _problem(300, 10, seed=2, noise=3.0, centres_seed=9)
    hard = fit_ridge_head(x, labels, 3)
    xs, ls = _problem(300, 10, seed=2, noise=0.2)
    easy = fit_ridge_head(xs, ls, 3)
    assert 0.4 < hard.loo_accuracy < 0.95 and easy.loo_accuracy == 1.0
    assert easy.temperature > hard.temperature
    # the mean confidence on held-out rows is near the held-out accuracy (calibration)
    xt, lt = _problem(600, 10, seed=3, noise=3.0, centres_seed=9)
    probs = torch.softmax(xt.float() @ hard.weight.T + hard.bias, 1)
    accuracy = float((probs.argmax(1).numpy() == lt).mean())
    assert accuracy > 0.5
    assert abs(float(probs.max(1).values.mean()) - accuracy) < 0.05
