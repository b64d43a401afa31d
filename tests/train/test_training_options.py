"""Training options from the design notes: Switch EMA, schedule-free RAdam/SGD, cosine with warm
restarts, jitter probability, feature-mask size, manifold mixup; each changes training as
documented, defaults change nothing, and a stopped run resumes to the same weights."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from edgekit.config_io import ConfigError
from edgekit.errors import EdgekitError
from edgekit.models import create_model
from edgekit.train import loop
from edgekit.train.augment import AugmentConfig, Augmenter, ManifoldMix
from edgekit.train.config import TrainConfig
from edgekit.train.loop import FitOptions, fit
from edgekit.train.losses import LossConfig, Objective
from edgekit.train.recipe import RecipeError, load_recipe
from edgekit.train.schedule import (OptimConfig, OptimName, lr_at, make_optimizer, optimizer_eval_mode,
                                    optimizer_train_mode)
from edgekit.train.tensors import SequenceTensors

from tests.train.test_loop import _arrays, _scores

CPU = torch.device("cpu")
QUICKSTART = "recipes/sim/quickstart.toml"
STEPS_PER_EPOCH = 6  # 96 toy sequences, batches of 16


def _cfg(epochs=3, optim=None, augment=None, **train) -> TrainConfig:
    return TrainConfig(epochs=epochs, batch_size=16, optim=optim or OptimConfig(lr=1e-2, warmup_frac=0.1),
                       loss=LossConfig(label_smoothing=0.0), augment=augment or AugmentConfig(), **train)


def _model() -> nn.Module:
    torch.manual_seed(0)
    return create_model("wavenet1d", in_chs=3, num_classes=2, chs=8, dilations=(1, 2))


def _fit(cfg: TrainConfig, model=None, checkpoint=None, on_progress=None, **opts):
    model = model if model is not None else _model()
    result = fit(model, SequenceTensors(_arrays(), 2), cfg, Objective(cfg.loss, 2),
                 FitOptions(epochs=cfg.epochs, seed=0, device=CPU, checkpoint=checkpoint, **opts),
                 valid=SequenceTensors(_arrays(32, seed=1), 2), score=_scores, on_progress=on_progress)
    return model, result


class _Stop(Exception):
    pass


def _assert_resumes_identically(cfg: TrainConfig, tmp_path) -> None:
    """Stopped at its second evaluation point (step 8, inside epoch 2), resumed from the checkpoint:
    the same history and the same weights as the uninterrupted run."""
    cfg = dataclasses.replace(cfg, eval_every_steps=4)
    _, reference = _fit(cfg)
    reports = []

    def stop_at_second(p):
        if p.kind == "epoch":
            reports.append(p)
            if len(reports) == 2:
                raise _Stop

    with pytest.raises(_Stop):
        _fit(cfg, checkpoint=tmp_path / "ck.pt", on_progress=stop_at_second)
    _, resumed = _fit(cfg, checkpoint=tmp_path / "ck.pt")
    assert resumed.history == reference.history
    for (name, a), b in zip(reference.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(a, b), name


def _states_equal(a: nn.Module, b: nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


# --- Switch EMA ----------------------------------------------------------------------------------

def test_switch_ema_continues_each_epoch_from_the_ema_weights():
    live, result = _fit(_cfg(epochs=1, ema_decay=0.9, ema_switch=True))
    assert _states_equal(live, result.model)  # after the epoch the live weights ARE the EMA weights
    live_plain, plain = _fit(_cfg(epochs=1, ema_decay=0.9))
    assert not _states_equal(live_plain, plain.model)
    assert _states_equal(result.model, plain.model)  # the switch changes nothing before it happens
    _, two_switched = _fit(_cfg(epochs=2, ema_decay=0.9, ema_switch=True))
    _, two_plain = _fit(_cfg(epochs=2, ema_decay=0.9))
    assert not _states_equal(two_switched.model, two_plain.model)  # epoch 2 trained on from the average


def test_switch_ema_resumes_identically(tmp_path):
    _assert_resumes_identically(_cfg(ema_decay=0.9, ema_switch=True), tmp_path)


def test_switch_ema_needs_an_ema_and_a_plain_optimizer():
    with pytest.raises(ConfigError, match="ema_decay"):
        TrainConfig(ema_switch=True)
    with pytest.raises(ConfigError, match="schedule-free"):
        TrainConfig(ema_switch=True, ema_decay=0.99, optim=OptimConfig(name="radam_schedule_free"))
    with pytest.raises(RecipeError, match="ema_decay"):
        load_recipe(QUICKSTART, ["train.ema_switch=true", "train.ema_decay=0"])
    assert load_recipe(QUICKSTART, ["train.ema_switch=true", "train.ema_decay=0.99"]).train.ema_switch


# --- schedule-free RAdam and SGD -----------------------------------------------------------------

@pytest.mark.parametrize("name, cls, lr", [("radam_schedule_free", "RAdamScheduleFree", 0.2),
                                           ("sgd_schedule_free", "SGDScheduleFree", 0.1)])
def test_schedule_free_radam_and_sgd_train_and_resume_identically(name, cls, lr, tmp_path):
    pytest.importorskip("schedulefree", reason="schedulefree is in the train extra")
    recipe = load_recipe(QUICKSTART, [f"train.optim.name={name}"])
    assert recipe.train.optim.name is OptimName(name) and OptimName(name).schedule_free
    optim = OptimConfig(name=name, lr=lr, warmup_frac=0.1)
    assert lr_at(optim, 0, 18) == lr  # no schedule: the optimizer warms up (or rectifies) itself
    torch.manual_seed(0)
    model, x = nn.Linear(3, 1), torch.randn(64, 3)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
    opt = make_optimizer(model.parameters(), optim, total_steps=60)
    assert type(opt).__name__ == cls

    def averaged_loss() -> float:
        optimizer_eval_mode(opt)
        with torch.no_grad():
            loss = nn.functional.mse_loss(model(x), y).item()
        optimizer_train_mode(opt)
        return loss

    start = averaged_loss()
    for _ in range(60):
        opt.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()
    assert averaged_loss() < 0.5 * start
    _assert_resumes_identically(_cfg(optim=dataclasses.replace(optim, lr=1e-2)), tmp_path)


def test_schedule_free_takes_no_schedule_and_sgd_needs_momentum():
    with pytest.raises(ConfigError, match="no learning-rate schedule"):
        OptimConfig(name="sgd_schedule_free", schedule="cosine_restarts")
    with pytest.raises(ConfigError, match="momentum"):
        OptimConfig(name="sgd_schedule_free", betas=(0.0, 0.999))


# --- cosine with warm restarts -------------------------------------------------------------------

def test_cosine_restarts_jump_back_at_each_cycle_boundary():
    cfg = OptimConfig(lr=1.0, warmup_frac=0.0, min_lr_ratio=0.01, schedule="cosine_restarts", cycle_steps=10,
                      cycle_mult=2.0)
    lrs = [lr_at(cfg, s, 100) for s in range(40)]
    first, second = lrs[:10], lrs[10:30]
    assert lrs[0] == lrs[10] == lrs[30] == 1.0  # restarts after 10, then after 10 + 20 steps
    assert all(b < a for a, b in zip(first, first[1:])) and all(b < a for a, b in zip(second, second[1:]))
    assert lrs[5] == pytest.approx(0.01 + 0.99 * 0.5) and lrs[20] == pytest.approx(lrs[5])
    assert lrs[9] < 0.05 and lrs[29] < 0.05
    # default first cycle: 15 epochs' worth of steps, after the warmup
    default = OptimConfig(lr=1.0, warmup_frac=0.0, schedule="cosine_restarts")
    assert lr_at(default, 15 * 6 - 1, 1000, steps_per_epoch=6) < 0.05
    assert lr_at(default, 15 * 6, 1000, steps_per_epoch=6) == 1.0
    with pytest.raises(EdgekitError, match="steps_per_epoch"):
        lr_at(default, 0, 1000)
    assert load_recipe(QUICKSTART, ["train.optim.schedule=cosine_restarts", "train.optim.cycle_steps=30"]
                       ).train.optim.cycle_steps == 30


def test_the_loop_follows_the_restart_schedule():
    seen = []
    cfg = _cfg(epochs=2, optim=OptimConfig(lr=1e-2, warmup_frac=0.0, schedule="cosine_restarts", cycle_steps=4))
    _fit(cfg, on_progress=lambda p: seen.append(p.values["lr"]) if p.kind == "step" else None)
    assert seen == [lr_at(cfg.optim, s, 12) for s in range(12)]
    assert seen[4] == seen[0] == 1e-2 and seen[3] < seen[0]
    seen.clear()  # the default first cycle is sized from the loop's steps per epoch
    cfg = _cfg(epochs=1, optim=OptimConfig(lr=1e-2, warmup_frac=0.0, schedule="cosine_restarts"))
    _fit(cfg, on_progress=lambda p: seen.append(p.values["lr"]) if p.kind == "step" else None)
    assert seen == [lr_at(cfg.optim, s, 6, steps_per_epoch=STEPS_PER_EPOCH) for s in range(6)]


# --- jitter probability and feature mask ---------------------------------------------------------

def _batch(b=64, t=24, c=20):
    gen = torch.Generator().manual_seed(1)
    lengths = torch.randint(4, t + 1, (b,), generator=gen)
    mask = torch.arange(t)[None, :] < lengths[:, None]
    x = torch.randn(b, t, c, generator=gen) * mask[..., None]
    return x, mask, torch.eye(2)[torch.arange(b) % 2]


def _augment(cfg: AugmentConfig, seed=0):
    x, mask, target = _batch()
    out, *_ = Augmenter(cfg, torch.Generator().manual_seed(seed))(x.clone(), mask, target)
    return x, mask, out


def test_jitter_probability_picks_whole_samples_and_p1_is_the_old_jitter():
    x, _, out = _augment(AugmentConfig(jitter_std=0.05, jitter_p=0.0))
    assert torch.equal(out, x)
    x, mask, out = _augment(AugmentConfig(jitter_std=0.05, jitter_p=1.0))
    expected = x + torch.randn(x.shape, generator=torch.Generator().manual_seed(0)) * 0.05 * mask.unsqueeze(-1)
    assert torch.equal(out, expected)  # the default draws exactly what an always-on jitter drew
    x, mask, out = _augment(AugmentConfig(jitter_std=0.05, jitter_p=0.7))
    changed = (out != x).any(dim=(1, 2))
    assert 0 < int(changed.sum()) < len(x)
    assert torch.equal(out[~changed], x[~changed]) and torch.equal(out[~mask], x[~mask])


def test_feature_mask_zeroes_up_to_n_whole_channels():
    x, mask, out = _augment(AugmentConfig(feature_mask_p=1.0, feature_mask_max=15))
    padded = ~mask[..., None]
    zeroed = ((out == 0) | padded).all(dim=1) & ~((x == 0) | padded).all(dim=1)
    counts = zeroed.sum(1)
    assert int(counts.min()) >= 1 and int(counts.max()) <= 15 and int(counts.max()) > 2
    kept = ~zeroed[:, None, :].expand_as(x)
    assert torch.equal(out[kept], x[kept])
    assert load_recipe(QUICKSTART, ["train.augment.feature_mask_max=15", "train.augment.jitter_p=0.7"]
                       ).train.augment.feature_mask_max == 15


# --- manifold mixup ------------------------------------------------------------------------------

def test_manifold_mix_plan_blends_with_one_lambda_and_unions_masks():
    _, mask, target = _batch(b=32)
    aug = Augmenter(AugmentConfig(manifold_mixup_p=1.0, manifold_mixup_layers=("stem",)), torch.Generator())
    assert Augmenter(AugmentConfig(), torch.Generator()).manifold_mix(mask, ("stem",)) is None
    mix = aug.manifold_mix(mask, ("stem",))
    assert mix.layer == "stem" and bool(((mix.lam > 0) & (mix.lam < 1)).all())
    assert torch.equal(mix.mask, mask | mask[mix.perm])
    lam = mix.lam[:, None]
    torch.testing.assert_close(mix.blend(target), lam * target + (1 - lam) * target[mix.perm])
    hidden = torch.randn(32, 5, 7)
    out, rest = mix.mix_output((hidden, "kept"))
    torch.testing.assert_close(out, mix.lam[:, None, None] * hidden + (1 - mix.lam[:, None, None]) * hidden[mix.perm])
    assert rest == "kept"
    with pytest.raises(EdgekitError, match="batch of 32 first"):
        mix.mix_output(torch.randn(5, 32))


def test_manifold_mixup_mixes_the_named_layer_and_the_targets_alike(monkeypatch):
    model = _model()
    stem_out, stack_in, plans, targets, augmented = [], [], [], [], []
    model.stem.register_forward_hook(lambda m, a, out: stem_out.append(out.detach()))  # runs before the mix
    model.stack.register_forward_pre_hook(lambda m, args: stack_in.append(args[0].detach()))
    plan, augment = Augmenter.manifold_mix, loop._augmented
    monkeypatch.setattr(Augmenter, "manifold_mix", lambda self, *a: plans.append(plan(self, *a)) or plans[-1])
    monkeypatch.setattr(loop, "_augmented", lambda *a: augmented.append(augment(*a)) or augmented[-1])
    cfg = _cfg(epochs=1, augment=AugmentConfig(manifold_mixup_p=1.0, manifold_mixup_layers=("nope", "stem")))
    objective = Objective(cfg.loss, 2)

    def spy(outputs, target, **kwargs):
        targets.append(target)
        return objective(outputs, target, **kwargs)

    fit(model, SequenceTensors(_arrays(), 2), cfg, spy, FitOptions(epochs=1, seed=0, device=CPU))
    assert len(plans) == len(stack_in) == STEPS_PER_EPOCH and all(p.layer == "stem" for p in plans)
    for mix, hidden, seen, target, batch in zip(plans, stem_out, stack_in, targets, augmented):
        assert bool((mix.lam < 1).any())
        # the next layer sees the blended features ((B, T, C) at the stem, (B, C, T) in the stack)
        torch.testing.assert_close(seen, mix.blend(hidden).transpose(1, 2))
        torch.testing.assert_close(target, mix.blend(batch[2]))  # labels blended with the same λ


def test_manifold_mixup_resumes_identically(tmp_path):
    augment = AugmentConfig(manifold_mixup_p=0.5, manifold_mixup_layers=("stem", "stack.blocks.0"), mixup_p=0.3,
                            jitter_std=0.05, jitter_p=0.7)
    _assert_resumes_identically(_cfg(augment=augment), tmp_path)


def test_manifold_mixup_errors_name_the_layers():
    with pytest.raises(ConfigError, match="manifold_mixup_layers"):
        AugmentConfig(manifold_mixup_p=0.5)
    cfg = _cfg(epochs=1, augment=AugmentConfig(manifold_mixup_p=0.5, manifold_mixup_layers=("backbone.blocks.0",)))
    with pytest.raises(EdgekitError, match=r"backbone.blocks.0.*'stem'"):
        _fit(cfg)
    cfg = _cfg(epochs=1, augment=AugmentConfig(manifold_mixup_p=0.5, manifold_mixup_layers=("stem",)))
    with pytest.raises(EdgekitError, match="compile"):
        _fit(cfg, compile=True)
