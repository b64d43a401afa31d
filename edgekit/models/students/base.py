"""The student wrapper shared by every student backbone: edges, heads, streaming.

Edges are `(B, T, C)` (features in, time-major as the windows come); the backbone runs on
`(B, C, T)`. A backbone is an `nn.Module` with `num_features` and
`forward(x, mask, stream) -> (B, F, T)` whose temporal layers mask their inputs.
Option dataclasses are flat (`HeadConfig` fields mixed into each student's config), so
`create_model(name, in_chs=.., num_classes=.., hidden=32, recon_chs=3)` overrides any of them.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, fields, replace
from typing import Sequence, TypeVar

import torch
from torch import nn

from edgekit.config_io import needs_parsing, parse
from edgekit.errors import EdgekitError
from edgekit.models.layers.causal import StreamState, assign_state_slots
from edgekit.models.layers.window_standardize import WindowStandardize
from edgekit.models.students.heads import CausalClassifierHead, ClassifierHead, PhysicsHead


@dataclass(frozen=True)
class HeadConfig:
    pool_type: str = "avg"  # "avg" | "max" | "avgmax" (offline models; causal ones use a running mean)
    head_norm: str | None = "layer"  # offline head norm; causal heads always use BatchNorm
    head_drop: float = 0.1
    binary_head: bool = False  # extra (B,) logit, e.g. target vs non-target gesture
    # physics head targets: explicit input-channel indices (the trainer names them: `physics.py`), or
    # the first N input channels (the seed note's raw layout: body acc xyz, body gyro xyz); 0 = off
    recon_chs: int | tuple[int, ...] = 6
    physics_hidden: int | None = None  # physics MLP width; None = half the backbone width (the note)
    physics_weight: float = 0.05  # λ of the Smooth-L1 reconstruction loss (read by the training loop; 0 without targets)
    # the classifier also reads the (masked, running for causal models) mean of every input channel
    # beside the backbone's pooled features: Ignatov 2018's statistics next to the CNN features (on
    # UCI-HAR the sitting/standing cue is gravity's direction, a window mean)
    input_means: bool = False
    # the backbone also reads every input channel standardised within its window (offline students
    # only: `layers/window_standardize.py`); doubles the stem's inputs
    window_standardize: bool = False


C = TypeVar("C")


def configure(preset: C, opts: dict) -> C:
    """`preset` with `opts` applied; an unknown option is an error naming the allowed ones. Plain
    TOML/JSON values become what the fields' annotations ask for (a list a tuple, a table a
    dataclass: `stages = [{out_chs = 32, dilations = [1, 2]}]`), so a recipe or `model.json` can
    give any option."""
    allowed = {f.name for f in fields(preset)}
    unknown = sorted(set(opts) - allowed)
    if unknown:
        raise EdgekitError(f"unknown option(s) {unknown} for {type(preset).__name__}; allowed: {sorted(allowed)}")
    hints = typing.get_type_hints(type(preset))
    return replace(preset, **{k: parse(hints[k], v, key=k, error=EdgekitError)
                              if isinstance(v, (list, dict)) and needs_parsing(hints[k]) else v for k, v in opts.items()})


def _recon_index(recon_chs: int | Sequence[int], in_chs: int) -> tuple[int, ...]:
    if isinstance(recon_chs, int):
        return tuple(range(min(recon_chs, in_chs)))
    index = tuple(int(i) for i in recon_chs)
    bad = [i for i in index if not 0 <= i < in_chs]
    if bad:
        raise EdgekitError(f"recon_chs {bad} are not input channels (in_chs={in_chs})")
    return index


def backbone_inputs(in_chs: int, head: HeadConfig) -> int:
    """Channels the backbone reads: the inputs, twice with `window_standardize`."""
    return 2 * in_chs if head.window_standardize else in_chs


def _last_real(seq: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """`(B, K, T)` → `(B, K)` at each sequence's last real step (left or right padding)."""
    if mask is None:
        return seq[..., -1]
    steps = torch.arange(mask.shape[1], device=mask.device)
    last = (steps * mask.long()).amax(dim=1)
    return seq.gather(-1, last.view(-1, 1, 1).expand(seq.shape[0], seq.shape[1], 1))[..., 0]


class StudentNet(nn.Module):
    """Offline student: backbone → masked global pooling head (+ binary and physics heads)."""

    causal = False

    def __init__(self, backbone: nn.Module, in_chs: int, num_classes: int, head: HeadConfig, config=None):
        super().__init__()
        self.in_chs, self.num_classes, self.config = in_chs, num_classes, config
        self.backbone = backbone
        self.input_means = head.input_means
        if head.window_standardize and self.causal:
            raise EdgekitError("window_standardize needs the whole window's statistics; a causal (streaming) "
                               "student cannot have it: use an offline student or turn it off")
        self.window_standardize = WindowStandardize() if head.window_standardize else None
        self.head = self._make_head(backbone.num_features + (in_chs if head.input_means else 0), num_classes, head)
        self.binary_head = self._make_binary(self.head.num_features) if head.binary_head else nn.Identity()
        self.recon_index = _recon_index(head.recon_chs, in_chs)
        if self.recon_index:
            hidden = head.physics_hidden or max(1, backbone.num_features // 2)
            self.physics_head = PhysicsHead(backbone.num_features, len(self.recon_index), hidden)
        else:
            self.physics_head = nn.Identity()
        self.physics_weight = head.physics_weight if self.recon_index else 0.0

    def _make_head(self, features: int, num_classes: int, head: HeadConfig) -> nn.Module:
        return ClassifierHead(features, num_classes, head.pool_type, head.head_norm, head.head_drop)

    def _make_binary(self, features: int) -> nn.Module:
        return nn.Linear(features, 1)

    def forward_features(self, x: torch.Tensor, mask: torch.Tensor | None = None,
                         stream: StreamState | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        x = x.transpose(1, 2)
        m = mask.unsqueeze(1).to(x.dtype) if mask is not None else None
        h = self.backbone(self.window_standardize(x, m) if self.window_standardize is not None else x, m, stream)
        if self.input_means:  # pooled by the head with the backbone's channels: their window means
            h = torch.cat([h, x * m if m is not None else x], dim=1)
        return h, m

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        h, m = self.forward_features(x, mask)
        return self.head(h, m)

    def forward_train(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        h, m = self.forward_features(x, mask)
        feats = self.head.features(h, m)
        out = {"logits": self.head.fc(feats)}
        if not isinstance(self.binary_head, nn.Identity):
            out["binary"] = self.binary_head(feats)[:, 0]
        if self.recon_index:
            recon = self.physics_head(h[:, :self.backbone.num_features])  # never the raw inputs it reconstructs
            out["recon"] = (recon * m if m is not None else recon).transpose(1, 2)
        return out


class CausalStudentNet(StudentNet):
    """Causal, streamable student: running pooling head with per-step logits and `step()`.

    `forward(x, mask)` returns the logits at each sequence's last real step, so a left-padded
    batch gives the unpadded sequences' results. The streaming state is a flat tuple of tensors
    with fixed shapes `(batch, *shape)` for `shape` in `state_shapes`.
    """

    causal = True

    def __init__(self, backbone: nn.Module, in_chs: int, num_classes: int, head: HeadConfig, config=None):
        super().__init__(backbone, in_chs, num_classes, head, config)
        self.state_shapes: list[tuple[int, ...]] = assign_state_slots(self)

    def _make_head(self, features: int, num_classes: int, head: HeadConfig) -> nn.Module:
        return CausalClassifierHead(features, num_classes, head.head_drop)

    def _make_binary(self, features: int) -> nn.Module:
        return nn.Conv1d(features, 1, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        h, m = self.forward_features(x, mask)
        # the running mean, not one GlobalAveragePool, even at the last step of an unpadded window:
        # the same sums in the same order as `step`, so a step model equals the window model to 1e-5
        return _last_real(self.head(h, m), mask)

    def forward_sequence(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Per-step logits `(B, T, num_classes)` of the offline causal forward."""
        h, m = self.forward_features(x, mask)
        return self.head(h, m).transpose(1, 2)

    def forward_train(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        h, m = self.forward_features(x, mask)
        feats = self.head.features(h, m)
        out = {"logits": _last_real(self.head.fc(feats), mask)}
        if not isinstance(self.binary_head, nn.Identity):
            out["binary"] = _last_real(self.binary_head(feats), mask)[:, 0]
        if self.recon_index:
            recon = self.physics_head(h[:, :self.backbone.num_features])  # never the raw inputs it reconstructs
            out["recon"] = (recon * m if m is not None else recon).transpose(1, 2)
        return out

    def init_state(self, batch_size: int = 1) -> tuple[torch.Tensor, ...]:
        ref = next(self.parameters())
        return tuple(torch.zeros((batch_size, *shape), dtype=ref.dtype, device=ref.device)
                     for shape in self.state_shapes)

    def step(self, x_t: torch.Tensor, *state: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """One sample `(B, C)` → `(logits_t (B, K), *next_state)`; equals `forward_sequence` step by step."""
        if len(state) != len(self.state_shapes):
            raise ValueError(f"step expects {len(self.state_shapes)} state tensors, got {len(state)}")
        stream = StreamState(state, one_sample=True)
        h, _ = self.forward_features(x_t.unsqueeze(1), None, stream)
        logits = self.head(h, None, stream)[..., -1]
        return (logits, *stream.next_state())
