"""The teacher ensemble of a run directory as ONE fp32 ONNX window model, for benchmarking against
the student (`edgekit bench`): what serving the teachers would cost.

Every fold model of every member runs on the same raw-feature window; a member's folds are
averaged as log-probabilities and the members are averaged (the plain-average ensemble: the
stacker's per-class weights add a negligible (K × members) multiply, left out). The graph goes
through the same `export_window_model` (scaler folded in, metadata, torch parity) as the student.
Teachers trained with per-sequence demographics make it a two-input graph: `features` and
`demographics (batch, columns)`.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from edgekit.errors import EdgekitError
from edgekit.rundir import RunDir, load_model


class AveragedEnsemble(nn.Module):
    """`(B, T, C)` scaled features (and `(B, D)` scaled demographics when the teachers take them)
    → `(B, K)` mean over members of the fold-averaged log-probabilities."""

    def __init__(self, members: list[list[nn.Module]]):
        from edgekit.train.demographics import demographics_width

        super().__init__()
        self.members = nn.ModuleList(nn.ModuleList(folds) for folds in members)
        self.in_chs = int(getattr(members[0][0], "in_chs"))
        # which fold models take the demographics input (a teacher without a layout takes none)
        self.takes = [[demographics_width(m) > 0 for m in folds] for folds in members]
        widths = {demographics_width(m) for folds in members for m in folds} - {0}
        if len(widths) > 1:
            raise EdgekitError(f"the teachers take demographics of different widths {sorted(widths)}; expected "
                               "fold models of one run (trained on one demographics table)")
        self.demo_chs = widths.pop() if widths else 0

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None,
                demographics: torch.Tensor | None = None) -> torch.Tensor:
        total = None
        for folds, takes in zip(self.members, self.takes):
            logits = [m(x, mask, demographics=demographics) if take and demographics is not None else m(x, mask)
                      for m, take in zip(folds, takes)]
            member = torch.stack([torch.log_softmax(z, dim=-1) for z in logits]).mean(0)
            total = member if total is None else total + member
        return total / len(self.members)


def load_teachers(run_dir: str | Path) -> tuple[AveragedEnsemble, list[str]]:
    run = RunDir(run_dir)
    if not run.ensemble.exists():
        raise EdgekitError(f"{run.root}: no {run.ensemble.relative_to(run.root)}; train with `--teacher ensemble` first")
    manifest = json.loads(run.ensemble.read_text())
    names = manifest["members"]
    members = [[load_model(run.member_fold(name, fold)) for fold in range(manifest["folds"])] for name in names]
    return AveragedEnsemble(members).eval(), names


def export_teacher_ensemble(run_dir: str | Path, path: str | Path, *, parity_windows: int = 4, seed: int = 0) -> dict:
    """Write the run's teacher ensemble to `path` (fp32 ONNX window model); returns the export report."""
    from edgekit.export.onnx import export_window_model
    from edgekit.export.run import load_run
    from edgekit.train.tensors import Scaler

    run = RunDir(run_dir)
    ensemble, names = load_teachers(run.root)
    _, scaler, info = load_run(run.root)
    info = replace(info, model="teacher_ensemble(" + "+".join(names) + ")")
    if not isinstance(scaler, Scaler):
        scaler = Scaler.load(run.scaler)
    rng = np.random.default_rng(seed)
    length = max(2, info.window_length)
    raw = (np.asarray(scaler.mean, np.float32) + np.asarray(scaler.std, np.float32)
           * rng.standard_normal((parity_windows, length, len(scaler.mean))).astype(np.float32))
    report = export_window_model(ensemble, scaler, info, path, [raw])
    report["members"] = names
    report["fold_models"] = sum(len(m) for m in ensemble.members)
    return report
