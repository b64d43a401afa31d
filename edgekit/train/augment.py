"""Batch augmentations for padded sensor sequences, on the training device.

Layout: `x` `(B, T, C)` features, `mask` `(B, T)` bool (True on real steps), sequences
RIGHT-padded (real steps first, then zeros); `target` `(B, K)` soft labels; `recon_target`
`(B, T, R)` the physics head's target. Per sample, in this order:

1. mirror: with prob `mirror_p` take the sample from `x_mirrored` (the same batch's features from
   handedness-mirrored raw data, prepared by the loop), and its recon target from `recon_mirrored`.
   Then modality dropout (prob `modality_dropout_p`, as strong CMI solutions did): the whole
   sequence loses its thermopiles and ToF sensors, every real step of their channels set to
   `sensor_fill` (the values a recorded IMU-only sequence has: `modalities.sensor_fill`).
2. shift: with prob `shift_p` move the recording start by s ∈ [−shift_max, shift_max] steps:
   s > 0 prepends s copies of the first real step (an earlier start, sensor still), s < 0 drops the
   first |s| steps. The END is kept (CMI gestures sit at the end of a sequence); a result longer
   than T drops its earliest steps. The mask follows the new length.
3. stretch: with prob `stretch_p` resample the real steps (linear interpolation) to
   `round(L·f)` steps, f ~ U(stretch_range); longer than T keeps the last T.
4. mixup (prob `mixup_p`) or cutmix (prob `cutmix_p`) with a random partner from the batch:
   mixup blends x, recon target and labels by λ ~ Beta(α, α), and the mask becomes the union
   (still right-padded); cutmix replaces a span of about (1 − λ) of the sample's real steps by the
   partner's steps at the same positions (only where the partner is real) and weights the labels by
   the fraction of real steps replaced.
5. drift (prob `drift_p`): a per-channel linear ramp from 0 to N(0, drift_std) over the real steps.
   Then gain (prob `gain_p`): every channel of the sample multiplied by its own 1 + N(0, gain_std)
   and shifted by N(0, offset_std), constant over the sequence: a sensor's calibration (scale and
   bias) differs between devices and wearers (UCI-HAR's test subjects: see `bench/README.md`).
6. jitter (prob `jitter_p`, 1 = every sample): Gaussian noise of std `jitter_std` on every real
   step (the public CMI notebook: σ 0.05 at p 0.7).
7. time mask (prob `time_mask_p`): zero a contiguous span of up to `time_mask_max`·L real steps.
8. feature mask (prob `feature_mask_p`): zero 1..`feature_mask_max` random channels (the notebook:
   up to 15 at p 0.5).

Manifold mixup (Verma et al. 2019, arXiv 1806.05236) mixes hidden features instead of inputs, so
it happens inside the model's forward, after the steps above: `manifold_mix` draws one batch's
plan (after every other draw, so it changes nothing else) and `manifold_hook` applies it as a
forward hook. Per batch one of `manifold_mixup_layers` that the model has (dotted submodule
names, e.g. `"stem"` for the teachers, `"backbone.blocks.0"` for the students: `model.named_modules()`)
is chosen at random; each sample, with prob `manifold_mixup_p`, has that layer's output replaced by
λ·h + (1 − λ)·h[partner], λ ~ Beta(`manifold_mixup_alpha`, ·), and its labels, teacher logits and
recon target blend with the same λ; its mask becomes the union with the partner's, as in mixup.
It is independent of input mixup (a sample may get both: set `mixup_p = 0` for Verma's form). A
layer returning a tuple has its first element mixed (the features, by the zoo's convention).

Time operations (1–4) transform the recon target like x; noise operations (5–8) leave it as is,
so the physics head learns to reconstruct the clean signal. No operation writes a non-zero value
into a padded step. All randomness comes from `generator`, so a seeded generator makes the result
deterministic on a given device; draws happen on the batch's device (a CPU generator seeds a
device generator for a GPU batch, so no large noise tensor crosses the bus). With every
probability and `jitter_std` at 0 the augmenter returns its inputs unchanged.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
import torch
from torch import Tensor, nn

from edgekit.config_io import ConfigError, Fraction, NonNegative, NonNegativeInt, PositiveFloat, Probability, check
from edgekit.errors import EdgekitError


@dataclass(frozen=True)
class AugmentConfig:
    jitter_std: NonNegative = 0.0
    jitter_p: Probability = 1.0  # the share of samples jittered
    time_mask_p: Probability = 0.0
    time_mask_max: Fraction = 0.1  # fraction of the sequence's real length
    feature_mask_p: Probability = 0.0
    feature_mask_max: NonNegativeInt = 2
    drift_p: Probability = 0.0
    drift_std: NonNegative = 0.05
    gain_p: Probability = 0.0  # per-channel calibration: scale 1 + N(0, gain_std), offset N(0, offset_std)
    gain_std: NonNegative = 0.1
    offset_std: NonNegative = 0.0
    shift_p: Probability = 0.0
    shift_max: NonNegativeInt = 8
    stretch_p: Probability = 0.0
    stretch_range: tuple[PositiveFloat, PositiveFloat] = (0.9, 1.1)
    mixup_p: Probability = 0.0
    mixup_alpha: PositiveFloat = 0.4
    cutmix_p: Probability = 0.0
    cutmix_alpha: PositiveFloat = 1.0
    mirror_p: Probability = 0.0
    manifold_mixup_p: Probability = 0.0
    manifold_mixup_alpha: PositiveFloat = 2.0  # Verma et al.'s default
    manifold_mixup_layers: tuple[str, ...] = ()  # candidate submodule names; each model uses those it has
    modality_dropout_p: Probability = 0.0  # drop a sequence's thermopile + ToF channels (CMI: IMU-only test half)

    def __post_init__(self) -> None:
        check(self)
        if self.manifold_mixup_p > 0 and not any(self.manifold_mixup_layers):
            raise ConfigError("manifold_mixup_p > 0 mixes the output of a named layer; expected "
                              "manifold_mixup_layers to name at least one (e.g. [\"stem\", \"backbone.blocks.0\"])")
        if self.mixup_p + self.cutmix_p > 1.0:
            raise ConfigError(f"mixup_p + cutmix_p must be <= 1 (a sample gets one of them), got "
                              f"{self.mixup_p} + {self.cutmix_p}")
        if self.stretch_range[0] > self.stretch_range[1]:
            raise ConfigError(f"stretch_range must be (low, high) with low <= high, got {self.stretch_range}")


def _check_right_padded(mask: Tensor) -> None:
    if mask.dtype != torch.bool or mask.dim() != 2:
        raise EdgekitError(f"mask must be (batch, time) bool, got {tuple(mask.shape)} {mask.dtype}")
    if bool((mask[:, 1:] & ~mask[:, :-1]).any()):
        raise EdgekitError("augmentations expect right-padded sequences (real steps first, then padding); "
                           "the mask has a real step after a padded one")


def _gather_time(x: Tensor, index: Tensor) -> Tensor:
    """`x` `(B, T, C)`, `index` `(B, T)` long → `x[b, index[b, t], :]`."""
    return torch.gather(x, 1, index.unsqueeze(-1).expand(-1, -1, x.shape[-1]))


class Augmenter:
    """Apply `AugmentConfig` to a batch: `(x, mask, target, recon_target)` in and out (module docs)."""

    def __init__(self, cfg: AugmentConfig, generator: torch.Generator | None = None,
                 sensor_fill: Tensor | np.ndarray | None = None):
        """`sensor_fill` `(C,)`: what modality dropout writes into each thermopile/ToF channel,
        NaN on the channels it keeps (`modalities.sensor_fill`)."""
        self.cfg = cfg
        self.generator = generator
        self.sensor_fill = None if sensor_fill is None else torch.as_tensor(sensor_fill, dtype=torch.float32)
        self._gen: torch.Generator | None = generator

    # --- random draws, all on the batch's device --------------------------------------------------
    def _call_generator(self, like: Tensor) -> torch.Generator | None:
        """The generator for one call: `self.generator` when it lives on the batch's device, else a
        generator on that device seeded from it (noise for a GPU batch is not made on the CPU)."""
        if self.generator is None or self.generator.device == like.device:
            return self.generator
        seed = int(torch.randint(0, 2**62, (1,), generator=self.generator, device=self.generator.device))
        return torch.Generator(device=like.device).manual_seed(seed)

    def _rand(self, shape: tuple[int, ...], like: Tensor) -> Tensor:
        return torch.rand(shape, generator=self._gen, device=like.device)

    def _randn(self, shape: tuple[int, ...], like: Tensor) -> Tensor:
        return torch.randn(shape, generator=self._gen, device=like.device, dtype=like.dtype)

    def _beta(self, alpha: float, n: int, like: Tensor) -> Tensor:
        # torch's Beta takes no generator: seed numpy from the generator so results stay reproducible
        seed = int(torch.randint(0, 2**62, (1,), generator=self._gen, device=like.device))
        draws = np.random.default_rng(seed).beta(alpha, alpha, size=n)
        return torch.as_tensor(draws, dtype=torch.float32, device=like.device)

    def _chosen(self, p: float, lengths: Tensor) -> Tensor:
        """(B,) bool: which samples get an op of probability `p` (never an empty sequence)."""
        return (self._rand((lengths.shape[0],), lengths) < p) & (lengths > 0)

    # --- the pipeline -----------------------------------------------------------------------------
    def __call__(self, x: Tensor, mask: Tensor, target: Tensor, *, x_mirrored: Tensor | None = None,
                 recon_target: Tensor | None = None,
                 recon_mirrored: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor, Tensor | None]:
        """`recon_mirrored` is the recon target of `x_mirrored`; it is required when both
        `mirror_p > 0` and a `recon_target` are given, so the two stay consistent."""
        cfg = self.cfg
        _check_right_padded(mask)
        self._gen = self._call_generator(x)
        if x.dim() != 3 or x.shape[:2] != mask.shape:
            raise EdgekitError(f"x {tuple(x.shape)} must be (batch, time, channels) matching mask {tuple(mask.shape)}")
        if target.dim() != 2 or target.shape[0] != x.shape[0]:
            raise EdgekitError(f"target {tuple(target.shape)} must be (batch, classes) soft labels "
                               f"for {x.shape[0]} samples")
        if cfg.mirror_p > 0:
            x, recon_target = self._mirror(x, mask, x_mirrored, recon_target, recon_mirrored)
        if cfg.modality_dropout_p > 0:
            x = self.drop_sensors(x, mask)
        if cfg.shift_p > 0 and cfg.shift_max > 0:
            x, mask, recon_target = self._shift(x, mask, recon_target)
        if cfg.stretch_p > 0:
            x, mask, recon_target = self._stretch(x, mask, recon_target)
        if cfg.mixup_p > 0 or cfg.cutmix_p > 0:
            x, mask, target, recon_target = self._mix(x, mask, target, recon_target)
        if cfg.drift_p > 0 and cfg.drift_std > 0:
            x = self._drift(x, mask)
        if cfg.gain_p > 0 and (cfg.gain_std > 0 or cfg.offset_std > 0):
            x = self._gain(x, mask)
        if cfg.jitter_std > 0 and cfg.jitter_p > 0:
            # p = 1 draws no choice, so the default keeps the random stream of an always-on jitter
            jittered = mask if cfg.jitter_p >= 1 else mask & self._chosen(cfg.jitter_p, mask.sum(1))[:, None]
            x = x + self._randn(tuple(x.shape), x) * cfg.jitter_std * jittered.unsqueeze(-1)
        if cfg.time_mask_p > 0 and cfg.time_mask_max > 0:
            x = self._time_mask(x, mask)
        if cfg.feature_mask_p > 0 and cfg.feature_mask_max > 0:
            x = self._feature_mask(x, mask)
        return x, mask, target, recon_target

    def manifold_mix(self, mask: Tensor, layers: tuple[str, ...]) -> ManifoldMix | None:
        """This batch's manifold mixup plan over `layers` (the configured names the model has), or
        None when it is off. Call after `__call__`, on its output mask."""
        if self.cfg.manifold_mixup_p <= 0 or not layers:
            return None
        self._gen = self._call_generator(mask)
        lengths = mask.sum(1)
        layer = layers[int(torch.randint(len(layers), (1,), generator=self._gen, device=mask.device))]
        perm = torch.randperm(mask.shape[0], generator=self._gen, device=mask.device)
        pick = self._chosen(self.cfg.manifold_mixup_p, lengths) & (lengths[perm] > 0)
        lam = torch.where(pick, self._beta(self.cfg.manifold_mixup_alpha, mask.shape[0], mask), 1.0)
        return ManifoldMix(layer, lam, perm, torch.where(pick[:, None], mask | mask[perm], mask))

    def _mirror(self, x, mask, x_mirrored, recon_target, recon_mirrored):
        if x_mirrored is None:
            raise EdgekitError("mirror_p > 0 needs x_mirrored (the batch's features from mirrored raw data)")
        if x_mirrored.shape != x.shape:
            raise EdgekitError(f"x_mirrored {tuple(x_mirrored.shape)} must match x {tuple(x.shape)}")
        if recon_target is not None and recon_mirrored is None:
            raise EdgekitError("mirror_p > 0 with a recon_target needs recon_mirrored "
                               "(the mirrored batch's recon target)")
        lengths = mask.sum(1)
        pick = self._chosen(self.cfg.mirror_p, lengths)
        x_mirrored = x_mirrored.to(x.dtype) * mask.unsqueeze(-1).to(x.dtype)
        x = torch.where(pick[:, None, None], x_mirrored, x)
        if recon_target is not None:
            recon_target = torch.where(pick[:, None, None], recon_mirrored.to(recon_target.dtype), recon_target)
        return x, recon_target

    def drop_sensors(self, x, mask):
        """`x` with the thermopile and ToF channels of a `modality_dropout_p` share of the sequences
        set to `sensor_fill` (what a recorded IMU-only sequence reads)."""
        fill = self.sensor_fill
        if fill is None or not bool(torch.isfinite(fill).any()):
            raise EdgekitError("train.augment.modality_dropout_p > 0 drops the thermopile and ToF channels, and "
                               "none were given (the features have none); expected data with thermopile/ToF "
                               "channels or modality_dropout_p = 0")
        if fill.shape != (x.shape[-1],):
            raise EdgekitError(f"sensor_fill has shape {tuple(fill.shape)}; expected one value per channel "
                               f"({x.shape[-1]},)")
        fill = fill.to(device=x.device, dtype=x.dtype)
        pick = self._chosen(self.cfg.modality_dropout_p, mask.sum(1))
        drop = (pick[:, None] & mask).unsqueeze(-1) & torch.isfinite(fill)
        return torch.where(drop, torch.nan_to_num(fill), x)  # padded steps stay 0

    def _resample(self, x, mask, recon_target, pick, index_fn):
        """Shared by shift and stretch: `index_fn` gives new lengths and per-step source positions
        (`lo`, `hi`, interpolation weight `frac` or None); samples not in `pick` are unchanged."""
        lengths = mask.sum(1)
        steps = torch.arange(mask.shape[1], device=mask.device)
        new_len, lo, hi, frac = index_fn(lengths, steps)
        new_len = torch.where(pick, new_len, lengths)
        new_mask = steps[None, :] < new_len[:, None]

        def apply(t: Tensor) -> Tensor:
            out = _gather_time(t, lo)
            if frac is not None:  # linear interpolation between neighbouring source steps
                w = frac.unsqueeze(-1).to(t.dtype)
                out = out * (1 - w) + _gather_time(t, hi) * w
            out = out * new_mask.unsqueeze(-1).to(t.dtype)
            return torch.where(pick[:, None, None], out, t)

        recon_out = None if recon_target is None else apply(recon_target)
        return apply(x), torch.where(pick[:, None], new_mask, mask), recon_out

    def _shift(self, x, mask, recon_target):
        cfg, batch, steps_t = self.cfg, x.shape[0], x.shape[1]
        lengths = mask.sum(1)
        pick = self._chosen(cfg.shift_p, lengths)
        shift = (self._rand((batch,), lengths) * (2 * cfg.shift_max + 1)).long() - cfg.shift_max
        shift = torch.maximum(shift, 1 - lengths)  # keep at least one real step

        def index_fn(lengths, steps):
            grown = lengths + shift
            drop = (grown - steps_t).clamp_min(0)
            src = (steps[None, :] + drop[:, None] - shift[:, None])
            src = torch.minimum(src.clamp_min(0), (lengths - 1).clamp_min(0)[:, None])
            return grown.clamp(1, steps_t), src, src, None

        return self._resample(x, mask, recon_target, pick, index_fn)

    def _stretch(self, x, mask, recon_target):
        cfg, batch, steps_t = self.cfg, x.shape[0], x.shape[1]
        lengths = mask.sum(1)
        pick = self._chosen(cfg.stretch_p, lengths)
        lo_f, hi_f = cfg.stretch_range
        factor = lo_f + (hi_f - lo_f) * self._rand((batch,), x)

        def index_fn(lengths, steps):
            stretched = torch.round(lengths.to(factor.dtype) * factor).long().clamp_min(1)
            drop = (stretched - steps_t).clamp_min(0)
            # step j of the stretched sequence sits at source position j·(L − 1)/(L' − 1)
            scale = (lengths - 1).clamp_min(0).to(factor.dtype) / (stretched - 1).clamp_min(1).to(factor.dtype)
            pos = (steps[None, :] + drop[:, None]).to(factor.dtype) * scale[:, None]
            last = (lengths - 1).clamp_min(0)[:, None]
            lo = torch.minimum(pos.floor().long(), last)
            hi = torch.minimum(lo + 1, last)
            return stretched.clamp(1, steps_t), lo, hi, (pos - lo.to(pos.dtype)).clamp(0, 1)

        return self._resample(x, mask, recon_target, pick, index_fn)

    def _mix(self, x, mask, target, recon_target):
        cfg, batch, steps_t = self.cfg, x.shape[0], x.shape[1]
        lengths = mask.sum(1)
        target = target.to(x.dtype) if target.dtype.is_floating_point else target.float()
        perm = torch.randperm(batch, generator=self._gen, device=x.device)
        u = self._rand((batch,), x)
        do_mixup = (u < cfg.mixup_p) & (lengths > 0)
        do_cutmix = (u >= cfg.mixup_p) & (u < cfg.mixup_p + cfg.cutmix_p) & (lengths > 0) & (lengths[perm] > 0)

        # mixup: blend everything, union of masks (right padding is kept)
        lam = self._beta(cfg.mixup_alpha, batch, x).to(x.dtype)
        lam = torch.where(do_mixup, lam, torch.ones_like(lam))
        x_mix = lam[:, None, None] * x + (1 - lam[:, None, None]) * x[perm]
        mask_mix = torch.where(do_mixup[:, None], mask | mask[perm], mask)
        target_mix = lam[:, None] * target + (1 - lam[:, None]) * target[perm]
        recon_mix = None
        if recon_target is not None:
            recon_mix = lam[:, None, None] * recon_target + (1 - lam[:, None, None]) * recon_target[perm]

        # cutmix: a span of ~(1 − λ)·L real steps taken from the partner where the partner is real
        lam_c = self._beta(cfg.cutmix_alpha, batch, x)
        span = torch.round((1 - lam_c) * lengths.to(lam_c.dtype)).long()
        start = (self._rand((batch,), x) * (lengths - span + 1).to(x.dtype)).long()
        steps = torch.arange(steps_t, device=x.device)[None, :]
        region = (steps >= start[:, None]) & (steps < (start + span)[:, None]) & mask & mask[perm]
        region = region & do_cutmix[:, None]
        replaced = region.sum(1).to(x.dtype) / lengths.clamp_min(1).to(x.dtype)
        x_mix = torch.where(region[..., None], x[perm], x_mix)
        target_mix = torch.where(do_cutmix[:, None],
                                 (1 - replaced[:, None]) * target + replaced[:, None] * target[perm], target_mix)
        if recon_mix is not None:
            recon_mix = torch.where(region[..., None], recon_target[perm], recon_mix)
        return x_mix * mask_mix.unsqueeze(-1).to(x.dtype), mask_mix, target_mix, recon_mix

    def _drift(self, x, mask):
        lengths = mask.sum(1)
        pick = self._chosen(self.cfg.drift_p, lengths)
        end = self._randn((x.shape[0], x.shape[2]), x) * self.cfg.drift_std
        steps = torch.arange(x.shape[1], device=x.device, dtype=x.dtype)
        ramp = steps[None, :] / (lengths - 1).clamp_min(1).to(x.dtype)[:, None]  # 0 → 1 over real steps
        drift = ramp.unsqueeze(-1) * end.unsqueeze(1) * mask.unsqueeze(-1).to(x.dtype)
        return x + drift * pick[:, None, None].to(x.dtype)

    def _gain(self, x, mask):
        pick = self._chosen(self.cfg.gain_p, mask.sum(1))[:, None].to(x.dtype)  # (B, 1)
        shape = (x.shape[0], x.shape[2])
        scale = 1 + self._randn(shape, x) * self.cfg.gain_std * pick
        offset = self._randn(shape, x) * self.cfg.offset_std * pick
        return (x * scale.unsqueeze(1) + offset.unsqueeze(1)) * mask.unsqueeze(-1).to(x.dtype)

    def _time_mask(self, x, mask):
        lengths = mask.sum(1)
        batch, steps_t = x.shape[:2]
        pick = self._chosen(self.cfg.time_mask_p, lengths)
        max_span = torch.floor(lengths.to(x.dtype) * self.cfg.time_mask_max).long().clamp_min(1)
        span = (self._rand((batch,), x) * max_span.to(x.dtype)).long() + 1  # 1..max_span
        span = torch.minimum(span, lengths)
        start = (self._rand((batch,), x) * (lengths - span + 1).to(x.dtype)).long()
        steps = torch.arange(steps_t, device=x.device)[None, :]
        hole = (steps >= start[:, None]) & (steps < (start + span)[:, None]) & pick[:, None]
        return x.masked_fill(hole.unsqueeze(-1), 0.0)

    def _feature_mask(self, x, mask):
        lengths = mask.sum(1)
        batch, _, channels = x.shape
        pick = self._chosen(self.cfg.feature_mask_p, lengths)
        count = (self._rand((batch,), x) * min(self.cfg.feature_mask_max, channels)).long() + 1
        # a random ranking of channels per sample; the `count` lowest ranks are dropped
        rank = self._rand((batch, channels), x).argsort(dim=1).argsort(dim=1)
        drop = (rank < count[:, None]) & pick[:, None]
        return x.masked_fill(drop.unsqueeze(1), 0.0)


@dataclass
class ManifoldMix:
    """One batch's manifold mixup: `layer` (a submodule name), per-sample `lam` `(B,)` (1 = not
    mixed), partner `perm` `(B,)` and the mask to run the batch with (unions for mixed samples)."""

    layer: str
    lam: Tensor
    perm: Tensor
    mask: Tensor

    def blend(self, t: Tensor | None) -> Tensor | None:
        """`λ·t + (1 − λ)·t[partner]` along the batch (the first) axis: hidden features, labels,
        teacher logits, recon targets alike."""
        if t is None:
            return None
        t = t if t.dtype.is_floating_point else t.float()
        lam = self.lam.to(t.dtype).view(-1, *([1] * (t.dim() - 1)))
        return lam * t + (1 - lam) * t[self.perm]

    def mix_output(self, output: Any) -> Any:
        """The hooked layer's output, mixed: a tensor, or the first element of a tuple."""
        features = output[0] if isinstance(output, (tuple, list)) else output
        if not isinstance(features, Tensor) or features.dim() < 1 or features.shape[0] != self.lam.shape[0]:
            shape = tuple(features.shape) if isinstance(features, Tensor) else type(features).__name__
            raise EdgekitError(f"manifold mixup layer {self.layer!r} outputs {shape}; expected a tensor (or a "
                               f"tuple starting with one) with the batch of {self.lam.shape[0]} first")
        mixed = self.blend(features)
        return (mixed, *output[1:]) if isinstance(output, (tuple, list)) else mixed


@contextmanager
def manifold_hook(model: nn.Module, mix: ManifoldMix | None) -> Iterator[None]:
    """Within the block, `model`'s forward mixes `mix.layer`'s output (a no-op for `mix = None`)."""
    if mix is None:
        yield
        return
    handle = model.get_submodule(mix.layer).register_forward_hook(lambda module, args, out: mix.mix_output(out))
    try:
        yield
    finally:
        handle.remove()


def manifold_layers(model: nn.Module, names: tuple[str, ...]) -> tuple[str, ...]:
    """The names among `names` that are submodules of `model`; none of them is an error listing
    the model's top submodules (a recipe's list serves teachers and students with different ones)."""
    modules = dict(model.named_modules())
    found = tuple(name for name in names if name and name in modules)
    if names and not found:
        known = [name for name in modules if name and name.count(".") <= 2][:16]
        raise EdgekitError(f"none of train.augment.manifold_mixup_layers {list(names)} is a submodule of "
                           f"{type(model).__name__}; expected one of its submodule names, such as {known}")
    return found
