"""EMA (convergence, buffers, resume) and schedules/optimizers (shape, schedule-free step)."""

import math

import pytest
import torch
from torch import nn

from edgekit.errors import EdgekitError
from edgekit.train.ema import ModelEMA
from edgekit.train.schedule import (OptimConfig, OptimName, lr_at, make_optimizer, optimizer_eval_mode,
                                    optimizer_train_mode, param_groups, set_lr, warmup_cosine)


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))


def test_ema_converges_toward_the_weights_and_copies_int_buffers():
    model = _net()
    ema = ModelEMA(model, decay=0.9, warmup=False)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    model.train()(torch.randn(8, 3))  # moves BN running stats and num_batches_tracked
    gaps = []
    for _ in range(60):
        ema.update(model)
        gaps.append(max((a - b).abs().max().item() for a, b in zip(ema.module.parameters(), model.parameters())))
    assert gaps[0] == pytest.approx(0.9, rel=1e-4)  # one step of decay 0.9 closes 10 % of the gap of 1
    assert all(later < earlier for earlier, later in zip(gaps, gaps[1:]))
    assert gaps[-1] < 0.9**60 * 1.01
    assert int(ema.module[1].num_batches_tracked) == 1
    assert not any(p.requires_grad for p in ema.module.parameters()) and not ema.module.training


def test_ema_warmup_ramps_decay():
    ema = ModelEMA(_net(), decay=0.999, warmup=True)
    decays = []
    for _ in range(3):
        decays.append(ema.current_decay())
        ema.update(_net())
    assert decays[0] == 0.0 and decays[0] < decays[1] < decays[2] < 0.999
    assert decays[1] == pytest.approx(1 - 2 ** (-2 / 3))


def test_ema_state_dict_round_trip():
    model = _net()
    ema = ModelEMA(model, decay=0.95)
    with torch.no_grad():
        model[0].weight.mul_(3.0)
    for _ in range(5):
        ema.update(model)
    restored = ModelEMA(_net(), decay=0.95)
    restored.load_state_dict(ema.state_dict())
    assert restored.num_updates == 5 and restored.current_decay() == ema.current_decay()
    for a, b in zip(ema.module.state_dict().values(), restored.module.state_dict().values()):
        assert torch.equal(a, b)
    with pytest.raises(EdgekitError, match="num_updates"):
        restored.load_state_dict({"module": {}})


def test_warmup_cosine_shape():
    total, warm, base, ratio = 100, 10, 1e-3, 0.01
    lrs = [warmup_cosine(s, total, warm, base, ratio) for s in range(total + 5)]
    # linear warmup reaching base at the end of warmup
    for s in range(warm):
        assert lrs[s] == pytest.approx(base * (s + 1) / warm)
    assert lrs[warm] == pytest.approx(base)
    # monotone cosine decay down to the minimum at the last step, flat after
    decay = lrs[warm:total]
    assert all(b <= a for a, b in zip(decay, decay[1:]))
    assert lrs[total - 1] == pytest.approx(base * ratio)
    assert lrs[total + 4] == pytest.approx(base * ratio)
    mid = warm + (total - 1 - warm) // 2
    cosine = 0.5 * (1 + math.cos(math.pi * (mid - warm) / (total - 1 - warm)))
    expected_mid = base * ratio + (base - base * ratio) * cosine
    assert lrs[mid] == pytest.approx(expected_mid)
    assert warmup_cosine(0, 10, 0, base, ratio) == pytest.approx(base)


def test_lr_at_and_set_lr():
    cfg = OptimConfig(lr=0.01, warmup_frac=0.1)
    assert lr_at(cfg, 0, 50) == pytest.approx(0.01 / 5)
    sf = OptimConfig(name="schedule_free", lr=0.01)
    assert sf.name is OptimName.SCHEDULE_FREE and lr_at(sf, 0, 50) == 0.01
    opt = make_optimizer(_net().parameters(), cfg)
    set_lr(opt, 0.123)
    assert all(g["lr"] == 0.123 for g in opt.param_groups)
    with pytest.raises(EdgekitError, match="expected one of"):
        OptimConfig(name="sgd")


def test_adamw_with_param_groups_skips_decay_on_biases_and_norms():
    model = _net()
    groups = param_groups(model, 0.05)
    opt = make_optimizer(groups, OptimConfig())
    assert isinstance(opt, torch.optim.AdamW)
    decayed = {id(p) for p in opt.param_groups[0]["params"]}
    assert decayed == {id(model[0].weight), id(model[2].weight)}
    assert opt.param_groups[1]["weight_decay"] == 0.0
    optimizer_train_mode(opt)  # no-ops for AdamW
    optimizer_eval_mode(opt)


def test_schedule_free_takes_a_step_and_switches_weights():
    pytest.importorskip("schedulefree", reason="schedulefree is in the train extra")
    model = nn.Linear(3, 1)
    opt = make_optimizer(model.parameters(), OptimConfig(name=OptimName.SCHEDULE_FREE, lr=0.05), total_steps=20)
    before = model.weight.detach().clone()
    x, y = torch.randn(16, 3), torch.randn(16, 1)
    losses = []
    for _ in range(20):
        optimizer_train_mode(opt)
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert not torch.equal(model.weight.detach(), before)
    assert losses[-1] < losses[0]
    train_weights = model.weight.detach().clone()
    optimizer_eval_mode(opt)
    assert not torch.equal(model.weight.detach(), train_weights)  # eval mode holds the averaged weights
    optimizer_train_mode(opt)
    torch.testing.assert_close(model.weight.detach(), train_weights)


def test_schedule_free_missing_package_is_a_clear_error(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_schedulefree(name, *args, **kwargs):
        if name == "schedulefree":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_schedulefree)
    with pytest.raises(EdgekitError, match="schedulefree"):
        make_optimizer(nn.Linear(2, 1).parameters(), OptimConfig(name=OptimName.SCHEDULE_FREE))
