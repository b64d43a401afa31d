"""Closed-form linear heads: ridge regression on fixed features, its penalty chosen by exact
leave-one-out error, then a temperature fitted so the logits are calibrated probabilities.

This is how the ROCKET family is trained in its papers (Dempster et al. 2020/2021: a ridge
classifier on the random-kernel features, the penalty picked by leave-one-out cross-validation, as
scikit-learn's `RidgeClassifierCV` does) and what makes MiniRocket strong with no gradient steps.
One thin SVD of the centred feature matrix `Z (N, D)`, computed from the smaller of its two Gram
matrices, gives every penalty's solution and leave-one-out predictions at once:

    Z = U S Vᵀ,  ŷ(λ) = U diag(s² / (s² + λ)) Uᵀ Y,  h_ii(λ) = 1/N + Σ_j U_ij² s_j² / (s_j² + λ),
    leave-one-out prediction of row i:  Y_i − (Y_i − ŷ_i) / (1 − h_ii)

with `Y` the ±1 one-hot targets, centred (the intercept, whose leverage is the 1/N). The penalty
with the best leave-one-out accuracy wins (ties: the lower squared error). A ridge score is not a
logit, so the head's weights are the ridge solution times one temperature `τ` that minimises the
cross-entropy of the *leave-one-out* scores: a distillation teacher's soft labels then mean
what they say instead of being as confident as the training fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

PENALTIES = np.logspace(-3, 3, 13)  # relative to the mean squared singular value (the features' scale)
TEMPERATURES = np.logspace(-1, 2.5, 71)  # candidate logit scales for the ridge scores


@dataclass(frozen=True)
class RidgeHead:
    weight: torch.Tensor  # (K, D): logits = features @ weight.T + bias
    bias: torch.Tensor  # (K,)
    penalty: float  # the chosen λ, relative to the mean squared singular value
    loo_accuracy: float  # leave-one-out accuracy of the chosen penalty
    temperature: float  # the logit scale applied to the ridge scores

    def report(self) -> dict[str, float]:
        return {"ridge_penalty": self.penalty, "ridge_loo_accuracy": round(self.loo_accuracy, 4),
                "ridge_temperature": round(self.temperature, 3)}


def fit_ridge_head(features: torch.Tensor, labels: np.ndarray, num_classes: int) -> RidgeHead:
    """The ridge head of `features (N, D)` for integer `labels (N,)` (see the module docstring)."""
    z = features.detach().to(torch.float64).cpu()
    n = z.shape[0]
    labels = np.asarray(labels, np.int64)
    y = -torch.ones(n, num_classes, dtype=torch.float64)
    y[torch.arange(n), torch.from_numpy(labels)] = 1.0
    z_mean, y_mean = z.mean(0), y.mean(0)
    z, yc = z - z_mean, y - y_mean
    u, s2 = _left_singular(z)
    scale = float(s2.mean()) if len(s2) else 1.0
    uty, u2 = u.T @ yc, u.square()
    best = None
    for rel in PENALTIES:
        shrink = s2 / (s2 + rel * scale)
        fitted = u @ (shrink[:, None] * uty)
        leverage = 1.0 / n + u2 @ shrink
        loo = yc - (yc - fitted) / (1.0 - leverage).clamp_min(1e-9)[:, None]
        accuracy = float((loo.argmax(1).numpy() == labels).mean())
        error = float((loo - yc).square().mean())
        if best is None or (accuracy, -error) > (best[1], -best[2]):
            best = (float(rel), accuracy, error, loo + y_mean)
    rel, accuracy, _, loo_scores = best
    # w = Zᵀ (Z Zᵀ + λ)⁻¹ Y = V diag(s / (s² + λ)) Uᵀ Y, written with Zᵀ U = V S
    coef = z.T @ (u @ (uty / (s2 + rel * scale)[:, None]))  # (D, K)
    bias = y_mean - z_mean @ coef
    tau = _temperature(loo_scores, labels)
    return RidgeHead((tau * coef.T).float(), (tau * bias).float(), rel, accuracy, tau)


def _left_singular(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(U (N, r), s² (r,)) of `z`, from the eigendecomposition of the smaller Gram matrix; the
    directions of (numerically) zero singular value are dropped."""
    n, d = z.shape
    if n <= d:
        s2, u = torch.linalg.eigh(z @ z.T)
    else:
        s2, v = torch.linalg.eigh(z.T @ z)
    keep = s2 > s2.max().clamp_min(1e-300) * 1e-10
    s2 = s2[keep]
    if n <= d:
        return u[:, keep], s2
    return (z @ v[:, keep]) / s2.sqrt(), s2


def _temperature(scores: torch.Tensor, labels: np.ndarray) -> float:
    """The scale `τ` minimising the mean cross-entropy of `softmax(τ · scores)`."""
    target = torch.from_numpy(labels)
    losses = [float(torch.nn.functional.cross_entropy(t * scores, target)) for t in TEMPERATURES]
    return float(TEMPERATURES[int(np.argmin(losses))])
