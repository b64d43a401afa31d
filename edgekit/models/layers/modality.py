"""Modality branches: IMU, thermopile and time-of-flight inputs fused into one per-step embedding.

Follows the separate-branch design of the strong CMI "Detect Behavior with Sensor Data" (Kaggle
2025) solutions: the IMU is always present; thermopiles and ToF go through their own branches (ToF
as 8x8 images per step through a small 2D CNN shared across sensors), each projected to the model
width and summed. About half the test sequences are IMU-only, so a per-sequence presence flag
zeroes a missing branch and adds a learned "missing" embedding instead: one model serves IMU-only
and full-sensor sequences.

Layout: `(B, T, C)` in and out. The branches read `[imu | thm | tof pixels | tof features]`: ToF
pixels sensor-major and row-major within a sensor (`tof_1_v0..v63, tof_2_v0..`) through the 2D CNN,
other ToF channels (per-sensor aggregates) beside them into the ToF branch's projection. Inputs in
another order (a feature pipeline's: derived IMU features after the ToF ones) name it in
`InputLayout.order`, and the encoder gathers them into branch order first (an ONNX Gather), so the
model's input keeps the pipeline's order; `InputLayout.from_modalities` builds such a layout.

Presence, per sequence and modality: a modality is present when at least one of its channels is
finite and non-zero at at least one real (unpadded) step. NaN anywhere in `x` is read as 0 (so
NaN-filled and zero-filled IMU-only sequences are the same). Pass `modality_mask` `(B, 2)` bool,
columns `[thm, tof]`, to override the derived flags.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from edgekit.errors import EdgekitError
from edgekit.models.layers.factories import LayerType, get_act

TOF_SIDE = 8
TOF_PIXELS = TOF_SIDE * TOF_SIDE
IMU, THM, TOF = "imu", "thm", "tof"  # the branches, as `FeatureSpec.modalities()` names them


@dataclass(frozen=True)
class InputLayout:
    """Which input channels are which sensor: `[imu | thm | tof_sensors x 64 | tof_chs]` in branch
    order, plus demographics. `order[j]` is the input channel at branch position j (empty: the
    input already is in branch order)."""

    imu_chs: int
    thm_chs: int = 0
    tof_sensors: int = 0
    demo_chs: int = 0
    tof_chs: int = 0  # ToF channels that are not 8x8 pixels (per-sensor aggregates): a linear input
    order: tuple[int, ...] = ()

    @classmethod
    def from_modalities(cls, modalities: Sequence[str], tof_pixels: Sequence[bool] = (),
                        demo_chs: int = 0) -> "InputLayout":
        """The layout of inputs whose channel i comes from sensor `modalities[i]` (`IMU`, `THM` or
        `TOF`); `tof_pixels[i]` marks a raw ToF pixel (64 per sensor, sensor-major, in input order)."""
        pixel = list(tof_pixels) or [False] * len(modalities)
        unknown = sorted({m for m in modalities} - {IMU, THM, TOF})
        if unknown or len(pixel) != len(modalities):
            raise EdgekitError(f"InputLayout.from_modalities: expected one of {IMU!r}, {THM!r}, {TOF!r} per channel "
                               f"and one tof_pixels flag per channel; got {unknown or len(pixel)}")
        groups = ([i for i, m in enumerate(modalities) if m == IMU], [i for i, m in enumerate(modalities) if m == THM],
                  [i for i, m in enumerate(modalities) if m == TOF and pixel[i]],
                  [i for i, m in enumerate(modalities) if m == TOF and not pixel[i]])
        if len(groups[2]) % TOF_PIXELS:
            raise EdgekitError(f"{len(groups[2])} ToF pixel channels; expected whole sensors of {TOF_PIXELS}")
        order = tuple(i for group in groups for i in group)
        return cls(len(groups[0]), len(groups[1]), len(groups[2]) // TOF_PIXELS, demo_chs, len(groups[3]),
                   () if order == tuple(range(len(order))) else order)

    @property
    def in_chs(self) -> int:
        return self.imu_chs + self.thm_chs + self.tof_sensors * TOF_PIXELS + self.tof_chs

    def channel_branches(self) -> tuple[str, ...]:
        """The branch (`IMU`, `THM`, `TOF`) of each input channel, in input order."""
        branch_order = [IMU] * self.imu_chs + [THM] * self.thm_chs + [TOF] * (self.in_chs - self.imu_chs - self.thm_chs)
        if not self.order:
            return tuple(branch_order)
        out = [IMU] * self.in_chs
        for position, channel in enumerate(self.order):
            out[channel] = branch_order[position]
        return tuple(out)

    def validate(self, in_chs: int) -> None:
        """Raise an `EdgekitError` naming the mismatch when `in_chs` does not fit this layout."""
        for name in ("imu_chs", "thm_chs", "tof_sensors", "demo_chs", "tof_chs"):
            if getattr(self, name) < 0:
                raise EdgekitError(f"InputLayout.{name} must be >= 0, got {getattr(self, name)}")
        if self.imu_chs < 1:
            raise EdgekitError(f"InputLayout.imu_chs must be >= 1 (the IMU is always present), got {self.imu_chs}")
        if self.in_chs != in_chs:
            raise EdgekitError(
                f"in_chs={in_chs} does not match the input layout: imu_chs {self.imu_chs} + thm_chs "
                f"{self.thm_chs} + tof_sensors {self.tof_sensors} x {TOF_PIXELS}"
                f"{f' + tof_chs {self.tof_chs}' if self.tof_chs else ''} = {self.in_chs} channels"
            )
        if self.order and sorted(self.order) != list(range(in_chs)):
            raise EdgekitError(f"InputLayout.order must list every input channel 0..{in_chs - 1} once "
                               f"(the input channel at each branch position); got {len(self.order)} entries")


def resolve_layout(in_chs: int, layout: InputLayout | None) -> InputLayout:
    """`layout`, checked against `in_chs`; None means every channel is IMU."""
    if isinstance(layout, str):  # `layout = "spec"` in a recipe that nothing resolved
        raise EdgekitError(f"layout = {layout!r} is resolved from the run's feature spec by `edgekit train`; "
                           "to build a model directly pass an InputLayout (InputLayout.from_modalities)")
    layout = InputLayout(imu_chs=in_chs) if layout is None else layout
    layout.validate(in_chs)
    return layout


class TofEncoder(nn.Module):
    """Small 2D CNN over each ToF sensor's 8x8 image, weights shared across sensors and steps; the
    other ToF channels (`feature_chs`, after the pixels) join the CNN's features in the projection."""

    def __init__(self, tof_sensors: int, out_chs: int, hidden_chs: int = 16, act_layer: LayerType = "silu",
                 feature_chs: int = 0):
        super().__init__()
        act = get_act(act_layer)
        self.tof_sensors = tof_sensors
        self.cnn = nn.Sequential(
            nn.Conv2d(1, hidden_chs, 3, padding=1),
            act(),
            nn.Conv2d(hidden_chs, hidden_chs, 3, stride=2, padding=1),
            act(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(1),
        ) if tof_sensors else None
        self.proj = nn.Linear(tof_sensors * hidden_chs + feature_chs, out_chs)

    def forward(self, tof: torch.Tensor) -> torch.Tensor:
        if self.cnn is None:
            return self.proj(tof)
        n_pixels = self.tof_sensors * TOF_PIXELS
        # (B, T, S*64) -> (B*T*S, 1, 8, 8) -> (B*T*S, hidden) -> (B, T, S*hidden)
        images = tof[..., :n_pixels].unflatten(-1, (self.tof_sensors, 1, TOF_SIDE, TOF_SIDE)).flatten(0, 2)
        feats = self.cnn(images).unflatten(0, (tof.shape[0], -1, self.tof_sensors)).flatten(2)
        if tof.shape[-1] > n_pixels:  # aggregates beside the pixels
            feats = torch.cat([feats, tof[..., n_pixels:]], dim=-1)
        return self.proj(feats)


class ModalityEncoder(nn.Module):
    """`(B, T, C)` raw channels -> `(B, T, out_chs)`: IMU + thermopile + ToF branches, summed."""

    def __init__(self, layout: InputLayout, out_chs: int, tof_hidden_chs: int = 16, act_layer: LayerType = "silu"):
        super().__init__()
        self.layout = layout
        self.imu = nn.Linear(layout.imu_chs, out_chs)
        self.thm = nn.Linear(layout.thm_chs, out_chs) if layout.thm_chs else None
        self.tof = TofEncoder(layout.tof_sensors, out_chs, tof_hidden_chs, act_layer, layout.tof_chs) \
            if layout.tof_sensors or layout.tof_chs else None
        # not persistent: the layout (the model's options) says it, so state dicts stay as they were
        self.register_buffer("order", torch.tensor(layout.order, dtype=torch.long) if layout.order else None,
                             persistent=False)
        # the learned stand-ins for a missing thermopile / ToF branch
        self.missing = nn.Parameter(torch.zeros(2, out_chs))
        nn.init.normal_(self.missing, std=0.02)

    def presence(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """`(B, 2)` bool `[thm present, tof present]`, derived from `x` in branch order (see module doc)."""
        imu, thm, tof = self._split(x)
        real = mask.unsqueeze(-1)
        flags = []
        for part in (thm, tof):
            if part is None:
                flags.append(torch.zeros_like(mask[:, 0]))
            else:
                nonzero = (part != 0) & real
                flags.append(nonzero.flatten(1).any(dim=1))
        return torch.stack(flags, dim=1)

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor, modality_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        if self.order is not None:
            x = x.index_select(-1, self.order)
        x = torch.where(torch.isfinite(x), x, torch.zeros_like(x))
        present = self.presence(x, mask) if modality_mask is None else modality_mask.to(torch.bool)
        present = present.to(x.dtype).unsqueeze(1)  # (B, 1, 2)
        imu, thm, tof = self._split(x)
        out = self.imu(imu)
        for i, (branch, part) in enumerate(((self.thm, thm), (self.tof, tof))):
            if branch is None:
                continue
            keep = present[..., i : i + 1]
            # zero the input too, so a missing branch's values cannot reach the output at all
            out = out + keep * branch(part * keep) + (1.0 - keep) * self.missing[i]
        return out

    def _split(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        lay = self.layout
        imu = x[..., : lay.imu_chs]
        thm = x[..., lay.imu_chs : lay.imu_chs + lay.thm_chs] if lay.thm_chs else None
        tof = x[..., lay.imu_chs + lay.thm_chs :] if self.tof is not None else None
        return imu, thm, tof


class DemographicsEmbedding(nn.Module):
    """MLP embedding of per-sequence demographics `(B, demo_chs)`, added to a pooled `(B, D)`."""

    def __init__(self, demo_chs: int, out_chs: int, hidden_chs: int = 64, act_layer: LayerType = "silu"):
        super().__init__()
        self.demo_chs = demo_chs
        self.mlp = (
            nn.Sequential(nn.Linear(demo_chs, hidden_chs), get_act(act_layer)(), nn.Linear(hidden_chs, out_chs))
            if demo_chs
            else None
        )

    def forward(self, pooled: torch.Tensor, demographics: torch.Tensor | None = None) -> torch.Tensor:
        if demographics is None:
            return pooled
        if self.mlp is None:
            raise EdgekitError("demographics were given but the model's layout has demo_chs=0")
        if demographics.shape[-1] != self.demo_chs:
            raise EdgekitError(
                f"demographics have {demographics.shape[-1]} columns; the model's layout expects "
                f"demo_chs={self.demo_chs}"
            )
        return pooled + self.mlp(demographics)
