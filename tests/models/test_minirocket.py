"""MiniRocket: the paper's transform (checked against a NumPy reference), biases fitted once on the
first training batch, deterministically, carried by the state_dict (and so by EMA, resume and
`load_model`), and heads fitted in closed form (ridge, the default) or by the one training loop.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from edgekit.errors import EdgekitError
from edgekit.models.layers.minirocket import (
    KERNEL_LENGTH,
    NUM_KERNELS,
    MiniRocketFeatures,
    dilation_plan,
    kernel_weights,
    quantiles,
)
from edgekit.models.registry import create_model
from edgekit.train.augment import AugmentConfig
from edgekit.train.config import TrainConfig
from edgekit.train.ema import ModelEMA
from edgekit.train.loop import FitOptions, fit, predict
from edgekit.train.losses import LossConfig, Objective
from edgekit.train.schedule import OptimConfig
from edgekit.train.tensors import Scaler, SequenceTensors, to_arrays


def _padded(lengths=(40, 29, 35), channels=3, total=48, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.full((len(lengths), total, channels), 5.0)  # garbage in the padding
    mask = torch.zeros(len(lengths), total, dtype=torch.bool)
    for i, n in enumerate(lengths):
        x[i, :n] = torch.randn(n, channels, generator=g)
        mask[i, :n] = True
    return x, mask


def test_dilations_follow_the_paper():
    for length, per_kernel in ((152, 119), (100, 119), (9, 119), (500, 4)):
        max_exp = max(0.0, np.log2((length - 1) / (KERNEL_LENGTH - 1)))
        count = min(per_kernel, 32)
        dil, n = np.unique(np.logspace(0, max_exp, count, base=2).astype(np.int32), return_counts=True)
        n = (n * per_kernel / count).astype(np.int32)
        for i in range(per_kernel - n.sum()):
            n[i % len(n)] += 1
        assert dilation_plan(length, per_kernel) == (tuple(dil.tolist()), tuple(n.tolist())), length


def _reference_features(module: MiniRocketFeatures, x: np.ndarray) -> np.ndarray:
    """The paper's transform for one `(C, T)` sequence, written plainly: conv per (dilation, kernel)
    over its channel subset, "same" zero padding, PPV over all or only the inner positions."""
    weights = kernel_weights().numpy()
    biases = module.biases.numpy()
    C, T = x.shape
    out, f = [], 0
    for slot, (d, count) in enumerate(zip(*module.plan())):
        pad = 4 * d
        xp = np.pad(x, ((0, 0), (pad, pad)))
        for k in range(NUM_KERNELS):
            chans = module.channels[slot, k].numpy()
            conv = sum(weights[k, j] * xp[chans, j * d: j * d + T].sum(0) for j in range(KERNEL_LENGTH))
            values = conv if (slot + k) % 2 == 0 else conv[pad:T - pad]
            for b in biases[f:f + count]:
                out.append((values > b).mean() if len(values) else 0.0)
            f += count
    return np.asarray(out)


def test_features_match_a_reference_of_the_paper():
    torch.manual_seed(0)
    module = MiniRocketFeatures(3, num_features=336, length=60, seed=3)
    x = torch.randn(4, 3, 60)
    module.fit(x)
    with torch.no_grad():
        got = module.eval()(x[:1])[0].numpy()
    want = _reference_features(module, x[0].numpy())
    diff = np.abs(got - want)
    # equal but for values within PPV_RAMP of their bias (a fraction of one step of 1/T at most)
    assert diff.mean() < 1e-3 and diff.max() <= 1.0 / (60 - 2 * 4 * max(module.plan()[0])) + 1e-6


def test_biases_are_quantiles_of_the_convolution_output():
    module = MiniRocketFeatures(2, num_features=168, length=30, seed=1)
    x = torch.randn(1, 2, 30)  # one example: every kernel draws it
    module.fit(x)
    dilation, count = module.plan()[0][0], module.plan()[1][0]
    conv = torch.nn.functional.conv1d(x, module._weight(0, x.dtype), padding=4 * dilation, dilation=dilation)[0]
    q = quantiles(module.num_features).numpy()
    for k in (0, 17, 83):
        want = np.quantile(conv[k].numpy().astype(np.float64), q[k * count:(k + 1) * count])
        np.testing.assert_allclose(module.biases[k * count:(k + 1) * count].numpy(), want, rtol=1e-5, atol=1e-5)


def test_fitted_biases_are_deterministic_and_saved_in_the_state_dict():
    x, mask = _padded()
    models = []
    for _ in range(2):
        torch.manual_seed(0)
        model = create_model("minirocket", in_chs=3, num_classes=4, num_features=336).train()
        ema = ModelEMA(model, decay=0.99)  # copied before the fit, as the training loop does
        assert not model.rocket.fitted
        model.forward_train(x, mask)
        ema.update(model)
        models.append((model, ema))
    (a, ema_a), (b, _) = models
    assert a.rocket.fitted and int(a.rocket.ref_length) == 40  # the longest real sequence
    assert a.rocket.biases.abs().sum() > 0
    torch.testing.assert_close(a.rocket.biases, b.rocket.biases, rtol=0, atol=0)
    fitted = a.rocket.biases.clone()
    a.forward_train(*_padded(seed=5))  # later batches leave the biases alone
    torch.testing.assert_close(a.rocket.biases, fitted, rtol=0, atol=0)

    fresh = create_model("minirocket", in_chs=3, num_classes=4, num_features=336)
    fresh.load_state_dict(a.state_dict())
    assert fresh.rocket.fitted and int(fresh.rocket.ref_length) == 40
    a.eval(), fresh.eval()
    with torch.no_grad():
        torch.testing.assert_close(fresh(x, mask), a(x, mask), rtol=0, atol=0)
        # the EMA copy took the fitted buffers at its first update
        torch.testing.assert_close(ema_a.module.rocket.biases, fitted, rtol=0, atol=0)
        assert int(ema_a.module.rocket.ref_length) == 40


def test_padding_does_not_change_fitted_features():
    x, mask = _padded()
    model = create_model("minirocket", in_chs=3, num_classes=4, num_features=336).train()
    model.forward_train(x, mask)
    model.eval()
    with torch.no_grad():
        batched = model(x, mask)
        alone = torch.cat([model(x[i:i + 1, :n]) for i, n in enumerate(mask.sum(1).tolist())])
    assert batched.std(0).mean() > 1e-3
    torch.testing.assert_close(batched, alone, atol=1e-5, rtol=1e-4)


def _toy(n, seed):
    """Class 0: a slow sine on channel 0; class 1: a fast one; variable lengths."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    seqs = []
    for y in labels:
        t = np.arange(rng.integers(30, 49))
        s = rng.normal(0, 0.3, (len(t), 2)).astype(np.float32)
        s[:, 0] += np.sin(2 * np.pi * (0.05 if y == 0 else 0.25) * t + rng.uniform(0, 2 * math.pi))
        seqs.append(s)
    return seqs, labels


def _toy_sets(n_train, n_test=0):
    """(train, test, test labels): `_toy` sequences scaled by the training set's scaler."""
    seqs, labels = _toy(n_train, seed=0)
    scaler = Scaler.fit(seqs, ("a", "b"))
    train = SequenceTensors(to_arrays(seqs, labels, scaler, 48, "last"), 2)
    test_seqs, test_labels = _toy(n_test, seed=1)
    test = SequenceTensors(to_arrays(test_seqs, test_labels, scaler, 48, "last"), 2) if n_test else None
    return train, test, test_labels


def test_learns_a_separable_toy_problem_with_the_training_loop():
    train, test, test_labels = _toy_sets(48, 32)
    cfg = TrainConfig(epochs=3, batch_size=16, ema_decay=0.9, optim=OptimConfig(lr=1e-2, warmup_frac=0.0),
                      loss=LossConfig(label_smoothing=0.0))
    torch.manual_seed(0)
    model = create_model("minirocket", in_chs=2, num_classes=2, num_features=840, solver="sgd")
    result = fit(model, train, cfg, Objective(cfg.loss, 2), FitOptions(epochs=3, seed=0, device=torch.device("cpu")))
    assert result.model.rocket.fitted  # the evaluated (EMA) weights carry the fitted biases
    assert result.stopping["stopped_at_step"] == 9 and len(result.history) == 3  # gradient steps, 3 epochs
    logits = predict(result.model, test, 64, torch.device("cpu"))
    assert (logits.argmax(1) == test_labels).mean() == 1.0


def test_ridge_solver_fits_the_heads_in_closed_form_through_the_loop():
    train, test, test_labels = _toy_sets(60, 40)
    cfg = TrainConfig(epochs=50, batch_size=16)
    model = create_model("minirocket", in_chs=2, num_classes=2, num_features=840)  # solver="ridge"
    untouched = {k: v.clone() for k, v in model.state_dict().items()}
    score = lambda y, logits: {"accuracy": float((logits.argmax(1) == y).mean())}  # noqa: E731
    result = fit(model, train, cfg, Objective(cfg.loss, 2, binary_classes=[1]),
                 FitOptions(epochs=50, seed=0, device=torch.device("cpu"), monitor="accuracy"),
                 valid=test, score=score)
    assert result.stopping["stop_reason"] == "closed_form" and result.stopping["stopped_at_step"] == 0
    (record,) = result.history  # one solve, one validation score: no gradient steps
    assert record["step"] == 0 and record["val_accuracy"] == 1.0 and record["ridge_loo_accuracy"] == 1.0
    assert record["ridge_temperature"] > 0 and "ridge_penalty" in record
    fitted = result.model
    assert bool(fitted.rocket.fitted) and not torch.equal(fitted.head.weight, untouched["head.weight"])
    # the norm's statistics are the training features' own
    with torch.no_grad():
        raw = fitted._rocket(train.x, train.mask)
    torch.testing.assert_close(fitted.norm.running_mean, raw.mean(0), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(fitted.norm.running_var, raw.var(0), atol=1e-5, rtol=1e-4)
    # the binary head (class 1 is the "target" class) is solved too: its sign is the class
    with torch.no_grad():
        binary = fitted.forward_train(test.x, test.mask)["binary"]
    assert ((binary > 0).numpy() == (test_labels == 1)).mean() == 1.0


def test_unknown_solver_is_refused_with_the_choices():
    with pytest.raises(EdgekitError, match="solver 'lbfgs' is not one of ridge, sgd"):
        create_model("minirocket", in_chs=2, num_classes=2, num_features=840, solver="lbfgs")


def test_closed_form_adds_the_sensor_dropped_copies_that_modality_dropout_draws():
    train, _, _ = _toy_sets(40)
    cfg = TrainConfig(epochs=1, batch_size=16, augment=AugmentConfig(modality_dropout_p=0.5))
    model = create_model("minirocket", in_chs=2, num_classes=2, num_features=840)
    seen = {}
    solve = model.fit_closed_form

    def spy(x, mask, labels, **kw):
        seen.update(x=x.clone(), labels=labels)
        return solve(x, mask, labels, **kw)

    model.fit_closed_form = spy
    fill = np.array([np.nan, 7.0], np.float32)  # channel "b" plays the dropped sensor
    fit(model, train, cfg, Objective(cfg.loss, 2), FitOptions(epochs=1, seed=0, device=torch.device("cpu"),
                                                               sensor_fill=fill))
    x, extra = seen["x"], len(seen["x"]) - len(train)
    assert 10 <= extra <= 30  # about half the sequences, appended once each
    torch.testing.assert_close(x[:len(train)], train.x)
    copies = x[len(train):]
    # every toy sequence has at least 30 real samples: the copies read the fill there, on "b" only
    assert (copies[:, :30, 1] == 7.0).all() and not (x[:len(train), :30, 1] == 7.0).any()
    assert not (copies[:, :30, 0] == 7.0).any()
