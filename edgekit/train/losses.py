"""Training losses: the class loss (CE, focal, soft-F1, MbLS, ACLS), KD, binary and physics terms.

Shapes: `logits` `(B, K)`; `target` `(B, K)` soft labels (one-hot, label-smoothed, or mixup/cutmix
mixtures whose rows sum to 1); `recon` / `recon_target` `(B, T, R)` with `mask` `(B, T)` bool
(True on real samples). Every function returns a scalar mean over the batch.

- Focal loss: Lin et al., "Focal Loss for Dense Object Detection", arXiv 1708.02002.
- Soft-F1: a differentiable macro F1 from softmax probabilities (true/false positive counts as
  sums of probabilities), the surrogate of the F1 metrics that score CMI and HAR.
- MbLS: Liu et al., "The Devil is in the Margin: Margin-based Label Smoothing for Network
  Calibration", CVPR 2022, arXiv 2111.15430 (official code's `LogitMarginL1`).
- ACLS: Park et al., "ACLS: Adaptive and Conditional Label Smoothing for Network Calibration",
  ICCV 2023, arXiv 2308.11911 (official code's `ACLS.get_reg`, `pos_lambda` = 1).
- KD: Hinton et al., "Distilling the Knowledge in a Neural Network", arXiv 1503.02531.

`Objective` combines them as the one training loop needs:
`alpha·class + (1 − alpha)·KD` (KD only with teacher logits) `+ binary_weight·BCE + physics_weight·SmoothL1`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Sequence

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor

from edgekit.config_io import Fraction, NonNegative, PositiveFloat, check
from edgekit.errors import EdgekitError


class ClassLoss(Enum):
    CE = "ce"
    FOCAL = "focal"
    SOFT_F1 = "soft_f1"
    MBLS = "mbls"
    ACLS = "acls"


@dataclass(frozen=True)
class LossConfig:
    """Loss options. `label_smoothing` applies to CE and focal only: MbLS and ACLS are calibration
    alternatives to label smoothing (their papers compare against it, not on top of it), and soft-F1
    counts target mass as it is. `kind` may also be given by its value (`"focal"`)."""

    kind: ClassLoss = ClassLoss.CE
    label_smoothing: Annotated[float, Field(ge=0, lt=1, description="a value in [0, 1)")] = 0.05
    focal_gamma: NonNegative = 2.0
    mbls_margin: NonNegative = 10.0
    mbls_alpha: NonNegative = 0.1
    acls_margin: NonNegative = 10.0
    acls_alpha: NonNegative = 0.1  # weight of the whole ACLS regulariser
    acls_beta: NonNegative = 0.1  # weight of its non-max (negative) term relative to the max term
    binary_weight: NonNegative = 0.0  # target-vs-non-target BCE head, when the model has one
    kd_alpha: Fraction = 0.5  # distillation: kd_alpha·hard + (1 − kd_alpha)·T²·KL
    kd_temperature: PositiveFloat = 4.0
    physics_weight: NonNegative = 0.05  # Smooth-L1 reconstruction (students' physics head)

    def __post_init__(self) -> None:
        check(self)


def smooth_labels(target: Tensor, label_smoothing: float) -> Tensor:
    """`(1 − ε)·target + ε/K`: the same smoothing as `F.cross_entropy(label_smoothing=ε)`."""
    if label_smoothing == 0:
        return target
    return target * (1.0 - label_smoothing) + label_smoothing / target.shape[-1]


def soft_cross_entropy(logits: Tensor, target: Tensor, label_smoothing: float = 0.0) -> Tensor:
    """Mean over the batch of `−Σ_k t_k log softmax(z)_k` with soft targets."""
    target = smooth_labels(target, label_smoothing)
    return -(target * F.log_softmax(logits, dim=-1)).sum(-1).mean()


def focal_loss(logits: Tensor, target: Tensor, gamma: float = 2.0, label_smoothing: float = 0.0) -> Tensor:
    """Multiclass focal loss with soft targets: mean of `−Σ_k t_k (1 − p_k)^γ log p_k`; γ = 0 is CE."""
    target = smooth_labels(target, label_smoothing)
    log_p = F.log_softmax(logits, dim=-1)
    weight = (1.0 - log_p.exp()).clamp_min(0.0).pow(gamma)
    return -(target * weight * log_p).sum(-1).mean()


def soft_f1_loss(logits: Tensor, target: Tensor, eps: float = 1e-7) -> Tensor:
    """`1 − macro soft-F1` in [0, 1], averaged over the classes that have target mass in the batch.

    Per class: tp = Σ_b p·t, fp = Σ_b p·(1 − t), fn = Σ_b (1 − p)·t, F1 = 2tp / (2tp + fp + fn).
    Classes absent from the batch's targets are left out (their F1 would be 0 whatever the model
    does); predicting them is still penalised through the recall of the classes that are present.
    """
    probs = logits.softmax(dim=-1)
    tp = (probs * target).sum(0)
    fp = (probs * (1.0 - target)).sum(0)
    fn = ((1.0 - probs) * target).sum(0)
    f1 = 2 * tp / (2 * tp + fp + fn + eps)
    present = target.sum(0) > 0
    if not bool(present.any()):
        return logits.sum() * 0.0
    return 1.0 - f1[present].mean()


def mbls_loss(logits: Tensor, target: Tensor, margin: float = 10.0, alpha: float = 0.1) -> Tensor:
    """MbLS: soft CE + alpha · mean over (B, K) of `relu(max_j z_j − z_k − margin)`."""
    ce = soft_cross_entropy(logits, target)
    if alpha == 0:
        return ce
    gap = logits.max(dim=-1, keepdim=True).values - logits
    return ce + alpha * F.relu(gap - margin).mean()


def acls_loss(logits: Tensor, target: Tensor, margin: float = 10.0, alpha: float = 0.1, beta: float = 0.1) -> Tensor:
    """ACLS: soft CE + alpha · (max term + beta · non-max term), as in the official code.

    Max term: `relu(z_max − margin)²` on each sample's max logit(s) (mean over the batch), pulling
    an over-confident max logit down. Non-max term: `relu(sg(z_max) − z_k − margin)²` on the other
    logits (mean over B·(K − 1)), pulling far-behind logits up; `sg` = stop-gradient.
    """
    ce = soft_cross_entropy(logits, target)
    if alpha == 0:
        return ce
    batch, num_classes = logits.shape
    z_max = logits.max(dim=-1, keepdim=True).values
    is_max = (logits.detach() == z_max.detach()).to(logits.dtype)
    pos = (is_max * F.relu(z_max - margin).pow(2)).sum() / batch
    neg_gap = z_max.detach() - logits
    neg = ((1.0 - is_max) * F.relu(neg_gap - margin).pow(2)).sum() / max(batch * (num_classes - 1), 1)
    return ce + alpha * (pos + beta * neg)


def kd_loss(student_logits: Tensor, teacher_logits: Tensor, temperature: float = 4.0) -> Tensor:
    """`T² · KL(softmax(t/T) ‖ softmax(s/T))`, batch mean; the teacher gets no gradient."""
    teacher = teacher_logits.detach()
    log_s = F.log_softmax(student_logits / temperature, dim=-1)
    log_t = F.log_softmax(teacher / temperature, dim=-1)
    return F.kl_div(log_s, log_t, reduction="batchmean", log_target=True) * temperature**2


def physics_loss(recon: Tensor, recon_target: Tensor, mask: Tensor | None = None, beta: float = 1.0) -> Tensor:
    """Smooth L1 between `(B, T, R)` reconstruction and target, averaged over real steps only."""
    if recon.shape != recon_target.shape:
        raise EdgekitError(f"physics head output {tuple(recon.shape)} does not match its target "
                           f"{tuple(recon_target.shape)}; expected both (batch, time, recon channels)")
    per_elem = F.smooth_l1_loss(recon, recon_target.to(recon.dtype), reduction="none", beta=beta)
    if mask is None:
        return per_elem.mean()
    weight = mask.to(per_elem.dtype).unsqueeze(-1)
    denom = weight.sum() * per_elem.shape[-1]
    return (per_elem * weight).sum() / denom.clamp_min(1.0)


def as_soft_target(target: Tensor, num_classes: int) -> Tensor:
    """`(B,)` int class indices → one-hot float; `(B, K)` soft labels pass through (as float)."""
    if target.dim() == 1:
        if target.dtype.is_floating_point:
            raise EdgekitError("a 1-D target must hold int64 class indices; soft labels must be (batch, classes)")
        if target.numel() and (int(target.min()) < 0 or int(target.max()) >= num_classes):
            raise EdgekitError(f"target class indices must be in [0, {num_classes}), got "
                               f"[{int(target.min())}, {int(target.max())}]")
        return F.one_hot(target.long(), num_classes).float()
    if target.dim() != 2 or target.shape[1] != num_classes:
        raise EdgekitError(f"target has shape {tuple(target.shape)}; expected (batch,) class indices or "
                           f"(batch, {num_classes}) soft labels")
    return target if target.dtype.is_floating_point else target.float()


class Objective:
    """The training objective of the one training loop (teachers and students alike).

    `outputs` is a model's `forward_train` dict: `"logits"` `(B, K)`, optional `"binary"` `(B,)`
    and `"recon"` `(B, T, R)`. Returns `(loss, parts)` where `parts` holds floats for logging:
    `"loss"`, `"class"`, and `"kd"`, `"binary"`, `"physics"` when those terms are active.
    The binary term needs `binary_classes` (indices of the "target" classes); its BCE target is the
    (un-smoothed) target mass on those classes, so mixup mixtures give fractional targets.
    """

    def __init__(self, cfg: LossConfig, num_classes: int, binary_classes: Sequence[int] | None = None):
        if num_classes < 2:
            raise EdgekitError(f"num_classes must be >= 2, got {num_classes}")
        self.cfg = cfg
        self.num_classes = num_classes
        self.binary_classes: tuple[int, ...] | None = None
        if binary_classes is not None:
            index = tuple(int(i) for i in binary_classes)
            bad = [i for i in index if not 0 <= i < num_classes]
            if bad or not index:
                raise EdgekitError(f"binary_classes {list(index)} must be a non-empty list of class indices "
                                   f"in [0, {num_classes})")
            self.binary_classes = index

    def class_loss(self, logits: Tensor, target: Tensor) -> Tensor:
        cfg = self.cfg
        if cfg.kind is ClassLoss.CE:
            return soft_cross_entropy(logits, target, cfg.label_smoothing)
        if cfg.kind is ClassLoss.FOCAL:
            return focal_loss(logits, target, cfg.focal_gamma, cfg.label_smoothing)
        if cfg.kind is ClassLoss.SOFT_F1:
            return soft_f1_loss(logits, target)
        if cfg.kind is ClassLoss.MBLS:
            return mbls_loss(logits, target, cfg.mbls_margin, cfg.mbls_alpha)
        return acls_loss(logits, target, cfg.acls_margin, cfg.acls_alpha, cfg.acls_beta)

    def __call__(self, outputs: dict[str, Tensor], target: Tensor, *, teacher_logits: Tensor | None = None,
                 recon_target: Tensor | None = None, mask: Tensor | None = None) -> tuple[Tensor, dict[str, float]]:
        cfg = self.cfg
        logits = outputs["logits"]
        if logits.dim() != 2 or logits.shape[1] != self.num_classes:
            raise EdgekitError(f"model logits have shape {tuple(logits.shape)}; the objective expects "
                               f"(batch, {self.num_classes})")
        target = as_soft_target(target, self.num_classes).to(logits.device)
        if target.shape[0] != logits.shape[0]:
            raise EdgekitError(f"target has {target.shape[0]} rows but the batch has {logits.shape[0]}")
        parts: dict[str, Tensor] = {"class": self.class_loss(logits.float(), target)}
        total = parts["class"]
        if teacher_logits is not None:
            if teacher_logits.shape != logits.shape:
                raise EdgekitError(f"teacher logits {tuple(teacher_logits.shape)} do not match the student's "
                                   f"{tuple(logits.shape)}")
            parts["kd"] = kd_loss(logits.float(), teacher_logits.float(), cfg.kd_temperature)
            total = cfg.kd_alpha * total + (1.0 - cfg.kd_alpha) * parts["kd"]
        if cfg.binary_weight > 0 and "binary" in outputs:
            if self.binary_classes is None:
                raise EdgekitError("binary_weight > 0 and the model has a binary head, but the objective was "
                                   "built without binary_classes (the indices of the target classes)")
            bin_target = target[:, list(self.binary_classes)].sum(-1).clamp(0.0, 1.0)
            parts["binary"] = F.binary_cross_entropy_with_logits(outputs["binary"].float(), bin_target)
            total = total + cfg.binary_weight * parts["binary"]
        if cfg.physics_weight > 0 and "recon" in outputs:
            if recon_target is None:
                raise EdgekitError("the model has a physics head (outputs['recon']) and physics_weight > 0, "
                                   "but no recon_target was given")
            parts["physics"] = physics_loss(outputs["recon"].float(), recon_target, mask)
            total = total + cfg.physics_weight * parts["physics"]
        # one device sync for all the logged numbers
        names = ["loss", *parts]
        values = torch.stack([total.detach(), *(p.detach() for p in parts.values())]).tolist()
        return total, dict(zip(names, values))
