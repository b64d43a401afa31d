"""The teacher ensemble run online, for function matching (Beyer et al. 2022, "Knowledge
distillation: A good teacher is patient and consistent", arXiv 2106.05237).

Function matching feeds the teacher the very view the student sees, augmentation included, at
every step, instead of a fixed soft label per sequence: the student matches the teacher's function
on the whole neighbourhood the augmentations (mixup and cutmix too) explore. Here the teacher is the
run's ensemble: every saved fold model of every member, in eval mode and frozen, on the training
device, combined exactly as `ensemble.predict_ensemble` combines them for new sequences: each
member's folds averaged in log-probability space, then the members by the fitted stacker (or plain
averaging: `distill.soft_labels`). Both steps are `ensemble.Stacker`s, so there is one combination.

Layout: `x` `(B, T, C)`, `mask` `(B, T)` bool, as the loop hands them to the student; the result is
`(B, K)` float32 log-probabilities (logits to the KD term) on `x`'s device.

Unlike the OOF labels, the fold models have seen most training sequences (each was trained on K−1
of K folds): the signal may carry memorised labels. The paper accepts this (one teacher, run on
the training images); its remedy is the augmented views, which no teacher has seen. TTA shifts
(`teachers.tta_shifts`) are not applied: the teachers see exactly the student's view.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from edgekit.errors import EdgekitError
from edgekit.rundir import RunDir, load_model
from edgekit.train.demographics import demographics_input
from edgekit.train.device import autocast
from edgekit.train.ensemble import Stacker


class OnlineTeacher:
    """`teacher(x, mask) -> (B, K)` ensemble log-probabilities of the saved fold models of `teacher_run`."""

    def __init__(self, teacher_run: RunDir, num_classes: int, *, device: torch.device, amp: bool = True,
                 kind: str = "stacked", channels: Sequence[str] | None = None):
        meta = teacher_run.read_json(teacher_run.ensemble)
        if channels is not None:
            theirs = teacher_run.read_json(teacher_run.data).get("channels")
            if theirs is not None and list(theirs) != list(channels):
                raise EdgekitError(f"distill.mode = function_matching: the teachers of {teacher_run.root} were trained "
                                   f"on channels {theirs}, the student on {list(channels)}; expected the same "
                                   "features ([data] and [features] of the teachers' recipe)")
        self.device, self.amp = torch.device(device), amp
        self.members = [[_frozen(load_model(teacher_run.member_fold(name, fold)), self.device)
                         for fold in range(meta["folds"])] for name in meta["members"]]
        self.fold_average = Stacker.average(meta["folds"], num_classes)
        self.stacker = Stacker.from_dict(meta["stacker"]) if kind == "stacked" \
            else Stacker.average(len(self.members), num_classes)

    @property
    def models(self) -> int:
        return sum(len(folds) for folds in self.members)

    @torch.no_grad()
    def __call__(self, x: torch.Tensor, mask: torch.Tensor | None,
                 demographics: torch.Tensor | None = None) -> torch.Tensor:
        with autocast(self.device, self.amp):
            logits = [model(x, mask, **demographics_input(model, demographics)).float()
                      for folds in self.members for model in folds]
        flat = torch.stack(logits).cpu().numpy()  # one transfer: the combination runs on the CPU
        per_member = np.split(flat, len(self.members))
        member_logp = [self.fold_average(list(folds)) for folds in per_member]
        return torch.from_numpy(self.stacker(member_logp)).to(x.device)


def _frozen(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    return model.to(device).eval().requires_grad_(False)
