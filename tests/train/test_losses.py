"""Losses against hand / numpy computations on tiny inputs, and the Objective's weighted sum."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from edgekit.errors import EdgekitError
from edgekit.train.losses import (ClassLoss, LossConfig, Objective, acls_loss, focal_loss, kd_loss, mbls_loss,
                                  physics_loss, soft_cross_entropy, soft_f1_loss)

LOGITS = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0], [1.0, 1.0, 1.0]])
LABELS = torch.tensor([0, 2, 1])


def _np_log_softmax(z):
    z = np.asarray(z, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def test_cross_entropy_matches_numpy_and_torch_with_smoothing():
    onehot = F.one_hot(LABELS, 3).float()
    logp = _np_log_softmax(LOGITS.numpy())
    expected = -logp[np.arange(3), LABELS.numpy()].mean()
    assert soft_cross_entropy(LOGITS, onehot).item() == pytest.approx(expected, rel=1e-6)
    eps = 0.1
    smoothed = onehot.numpy() * (1 - eps) + eps / 3
    expected_ls = -(smoothed * logp).sum(1).mean()
    got = soft_cross_entropy(LOGITS, onehot, label_smoothing=eps).item()
    assert got == pytest.approx(expected_ls, rel=1e-6)
    assert got == pytest.approx(F.cross_entropy(LOGITS, LABELS, label_smoothing=eps).item(), rel=1e-6)
    # smoothing penalises the confident correct first sample more, so the loss changes
    assert got != pytest.approx(expected, rel=1e-3)


def test_focal_matches_hand_formula_and_reduces_to_ce():
    onehot = F.one_hot(LABELS, 3).float()
    logp = _np_log_softmax(LOGITS.numpy())
    p_true = np.exp(logp[np.arange(3), LABELS.numpy()])
    expected = (-(1 - p_true) ** 2 * np.log(p_true)).mean()
    assert focal_loss(LOGITS, onehot, gamma=2.0).item() == pytest.approx(expected, rel=1e-5)
    assert focal_loss(LOGITS, onehot, gamma=0.0).item() == pytest.approx(soft_cross_entropy(LOGITS, onehot).item())


def test_soft_f1_in_unit_interval_and_lower_for_better_predictions():
    onehot = F.one_hot(LABELS, 3).float()
    good = onehot * 8.0
    bad = (1 - onehot) * 8.0
    values = [soft_f1_loss(z, onehot).item() for z in (good, LOGITS, bad)]
    assert all(0.0 <= v <= 1.0 for v in values)
    assert values[0] < values[1] < values[2]
    assert values[0] < 0.01 and values[2] > 0.99
    # hand computation for one sample, class 0 present only
    z = torch.tensor([[1.0, 0.0]])
    t = torch.tensor([[1.0, 0.0]])
    p = 1 / (1 + math.exp(-1))
    assert soft_f1_loss(z, t).item() == pytest.approx(1 - 2 * p / (2 * p + (1 - p)), rel=1e-5)


def test_mbls_and_acls_reduce_to_ce_and_match_hand_formulas():
    onehot = F.one_hot(LABELS, 3).float()
    ce = soft_cross_entropy(LOGITS, onehot).item()
    assert mbls_loss(LOGITS, onehot, alpha=0.0).item() == pytest.approx(ce)
    assert acls_loss(LOGITS, onehot, alpha=0.0).item() == pytest.approx(ce)
    big = torch.tensor([[12.0, 0.0, 5.0]])  # gaps to the max: 0, 12, 7
    t = torch.tensor([[1.0, 0.0, 0.0]])
    ce_big = soft_cross_entropy(big, t).item()
    # MbLS, margin 10: relu(gap − 10) = [0, 2, 0], mean over K
    assert mbls_loss(big, t, margin=10.0, alpha=0.5).item() == pytest.approx(ce_big + 0.5 * 2 / 3, rel=1e-6)
    # ACLS, margin 10: max term relu(12 − 10)² = 4; non-max terms relu([12, 7] − 10)² = [4, 0], mean over 2
    got = acls_loss(big, t, margin=10.0, alpha=0.1, beta=0.5).item()
    assert got == pytest.approx(ce_big + 0.1 * (4 + 0.5 * 2), rel=1e-6)


def test_acls_pulls_the_max_logit_down_and_far_logits_up():
    z = torch.tensor([[12.0, 0.0, 5.0]], requires_grad=True)
    (acls_loss(z, torch.tensor([[0.0, 0.0, 1.0]]), margin=10.0, alpha=1.0, beta=1.0)
     - soft_cross_entropy(z, torch.tensor([[0.0, 0.0, 1.0]]))).backward()
    assert z.grad[0, 0] > 0 and z.grad[0, 1] < 0 and abs(z.grad[0, 2]) < 1e-6


def test_kd_zero_for_equal_logits_and_gradient_moves_student_to_teacher():
    teacher = torch.tensor([[3.0, 0.0, -1.0], [0.0, 2.0, 0.5]])
    assert kd_loss(teacher.clone(), teacher, temperature=4.0).item() == pytest.approx(0.0, abs=1e-7)
    student = torch.zeros(2, 3, requires_grad=True)
    loss = kd_loss(student, teacher, temperature=2.0)
    # hand value: T² · Σ p_t (log p_t − log p_s), batch mean
    pt = np.exp(_np_log_softmax(teacher.numpy() / 2.0))
    expected = 4.0 * (pt * (np.log(pt) - np.log(1 / 3))).sum(1).mean()
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    loss.backward()
    # gradient descent raises the student's logit where the teacher is most confident
    step = -student.grad
    assert step[0].argmax() == 0 and step[1].argmax() == 1


def test_physics_loss_ignores_padded_steps():
    recon = torch.zeros(2, 4, 2)
    target = torch.zeros(2, 4, 2)
    target[0, :2] = 0.5  # real steps: |d| = 0.5 → smooth L1 = 0.5·0.25 = 0.125
    target[0, 2:] = 100.0  # padded: must not count
    target[1, 3] = -100.0  # padded
    mask = torch.tensor([[True, True, False, False], [True, True, True, False]])
    expected = (4 * 0.125) / (5 * 2)  # 5 real steps × 2 channels
    assert physics_loss(recon, target, mask).item() == pytest.approx(expected)
    assert physics_loss(recon, target).item() > 10  # without the mask the padding dominates


def test_objective_sums_weighted_parts():
    torch.manual_seed(0)
    batch, steps, k = 4, 6, 3
    logits = torch.randn(batch, k)
    teacher = torch.randn(batch, k)
    outputs = {"logits": logits, "binary": torch.randn(batch), "recon": torch.randn(batch, steps, 2)}
    recon_target = torch.randn(batch, steps, 2)
    mask = torch.arange(steps)[None, :] < torch.tensor([6, 4, 3, 1])[:, None]
    labels = torch.tensor([0, 1, 2, 1])
    cfg = LossConfig(kind=ClassLoss.FOCAL, label_smoothing=0.1, binary_weight=0.3, kd_alpha=0.25,
                     kd_temperature=3.0, physics_weight=0.2)
    objective = Objective(cfg, k, binary_classes=[0, 1])
    loss, parts = objective(outputs, labels, teacher_logits=teacher, recon_target=recon_target, mask=mask)
    onehot = F.one_hot(labels, k).float()
    hard = focal_loss(logits, onehot, 2.0, 0.1)
    kd = kd_loss(logits, teacher, 3.0)
    bce = F.binary_cross_entropy_with_logits(outputs["binary"], torch.tensor([1.0, 1.0, 0.0, 1.0]))
    phys = physics_loss(outputs["recon"], recon_target, mask)
    expected = 0.25 * hard + 0.75 * kd + 0.3 * bce + 0.2 * phys
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert set(parts) == {"loss", "class", "kd", "binary", "physics"}
    assert parts["class"] == pytest.approx(hard.item(), rel=1e-5)
    assert parts["binary"] == pytest.approx(bce.item(), rel=1e-5)
    # int labels and their one-hot give the same loss; without a teacher there is no KD part
    plain = Objective(LossConfig(physics_weight=0.0), k)
    a, parts_a = plain({"logits": logits}, labels)
    b, _ = plain({"logits": logits}, onehot)
    assert a.item() == pytest.approx(b.item()) and set(parts_a) == {"loss", "class"}


def test_objective_soft_binary_target_and_errors():
    k = 3
    objective = Objective(LossConfig(binary_weight=1.0, physics_weight=0.0), k, binary_classes=[2])
    mixed = torch.tensor([[0.7, 0.0, 0.3]])
    out = {"logits": torch.zeros(1, k), "binary": torch.zeros(1)}
    _, parts = objective(out, mixed)
    assert parts["binary"] == pytest.approx(math.log(2))  # BCE(0 logit, any target) = log 2
    with pytest.raises(EdgekitError, match="binary_classes"):
        Objective(LossConfig(binary_weight=1.0), k)(out, mixed)
    with pytest.raises(EdgekitError, match="binary_classes"):
        Objective(LossConfig(), k, binary_classes=[3])
    with pytest.raises(EdgekitError, match="recon_target"):
        Objective(LossConfig(), k)({"logits": torch.zeros(1, k), "recon": torch.zeros(1, 2, 1)}, mixed)
    with pytest.raises(EdgekitError, match="expected one of"):
        LossConfig(kind="dice")
    assert LossConfig(kind="mbls").kind is ClassLoss.MBLS
    with pytest.raises(EdgekitError, match="soft labels"):
        Objective(LossConfig(), k)({"logits": torch.zeros(1, k)}, torch.zeros(1, 4))


def test_objective_gradients_flow_for_every_kind():
    for kind in ClassLoss:
        logits = torch.randn(5, 4, requires_grad=True)
        loss, _ = Objective(LossConfig(kind=kind), 4)({"logits": logits}, torch.tensor([0, 1, 2, 3, 0]))
        loss.backward()
        assert torch.isfinite(loss) and logits.grad.abs().sum() > 0, kind
