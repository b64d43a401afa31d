"""Every registered model (teachers and students), tiny configs: the model contract.

Parametrized over `list_models()`, so a newly registered model is tested by being registered;
option variants that change the graph (`zoo_helpers.VARIANTS`: pooling, front ends) run too.
"""

from __future__ import annotations

import pytest
import torch

from edgekit.export.onnx import check_onnx_parity, export_onnx
from edgekit.models.costs import count_macs
from edgekit.models.registry import get_entry, list_models

from zoo_helpers import IN_CHS, NUM_CLASSES, VARIANTS, build, registered_name

ALL = list_models() + sorted(VARIANTS)
STREAMABLE = list_models(streamable=True)


def _x(batch: int, length: int, seed: int = 1) -> torch.Tensor:
    return torch.randn(batch, length, IN_CHS, generator=torch.Generator().manual_seed(seed))


def _is_causal(model) -> bool:
    return hasattr(model, "step")


@pytest.mark.parametrize("name", ALL)
def test_forward_shape_and_finite(name):
    model = build(name)
    with torch.no_grad():
        out = model(_x(3, 40))
    assert out.shape == (3, NUM_CLASSES)
    assert out.dtype == torch.float32
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", ALL)
def test_backward_reaches_parameters(name):
    model = build(name).train()
    out = model.forward_train(_x(4, 40), torch.ones(4, 40, dtype=torch.bool))
    loss = out["logits"].square().mean()
    loss = loss + sum(out[k].square().mean() for k in ("binary", "recon") if k in out)
    loss.backward()
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    for n, p in params:
        assert p.grad is None or torch.isfinite(p.grad).all(), n
    reached = [n for n, p in params if p.grad is not None and p.grad.abs().sum() > 0]
    assert len(reached) >= 0.75 * len(params), f"{name}: only {len(reached)}/{len(params)} parameters get gradient"


@pytest.mark.parametrize("name", ALL)
def test_right_padding_does_not_change_results(name):
    model = build(name)
    lengths, total = (37, 26), 48
    seqs = [_x(1, n, seed=10 + i)[0] for i, n in enumerate(lengths)]
    x = torch.zeros(len(seqs), total, IN_CHS)
    mask = torch.zeros(len(seqs), total, dtype=torch.bool)
    for i, s in enumerate(seqs):
        x[i, : len(s)], mask[i, : len(s)] = s, True
        x[i, len(s):] = 5.0  # garbage in the padding must not matter
    with torch.no_grad():
        batched = model(x, mask)
        alone = torch.cat([model(s[None]) for s in seqs])
    torch.testing.assert_close(batched, alone, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name", STREAMABLE)
def test_left_padding_does_not_change_causal_results(name):
    model = build(name)
    lengths, total = (37, 26), 48
    seqs = [_x(1, n, seed=20 + i)[0] for i, n in enumerate(lengths)]
    x = torch.full((len(seqs), total, IN_CHS), 5.0)
    mask = torch.zeros(len(seqs), total, dtype=torch.bool)
    for i, s in enumerate(seqs):
        x[i, total - len(s):], mask[i, total - len(s):] = s, True
    with torch.no_grad():
        batched = model(x, mask)
        alone = torch.cat([model(s[None]) for s in seqs])
        train_logits = model.forward_train(x, mask)["logits"]
    torch.testing.assert_close(batched, alone, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(train_logits, alone, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name", ALL)
def test_variable_length(name):
    model = build(name)
    with torch.no_grad():
        for length in (17, 64):
            out = model(_x(2, length))
            assert out.shape == (2, NUM_CLASSES) and torch.isfinite(out).all(), length


@pytest.mark.parametrize("name", ALL)
def test_forward_train_outputs(name):
    model = build(name)
    x = _x(2, 30)
    with torch.no_grad():
        out = model.forward_train(x)
        logits = model(x)
    assert set(out) <= {"logits", "binary", "recon"}
    torch.testing.assert_close(out["logits"], logits)  # forward is forward_train's logits (eval)
    if "binary" in out:
        assert out["binary"].shape == (2,)
    if "recon" in out:
        assert out["recon"].shape == (2, 30, len(model.recon_index))
    if get_entry(registered_name(name)).kind == "student":
        assert "recon" in out  # students carry the physics head by default


@pytest.mark.parametrize("name", ALL)
def test_onnx_export_matches_torch(name, tmp_path):
    model = build(name)
    result = export_onnx(model, tmp_path / f"{name}.onnx", IN_CHS, 32)
    assert result.path.exists() and not list(tmp_path.glob("*.data"))  # one self-contained file
    parity = check_onnx_parity(model, result.path, [_x(1, 32, seed=3), _x(3, 45, seed=4)])
    assert parity["max_abs_diff"] <= 1e-4, parity
    assert parity["argmax_agreement"] == 1.0, parity


@pytest.mark.parametrize("name", ALL)
def test_macs_positive(name):
    assert count_macs(build(name), IN_CHS, 32) > 0


@pytest.mark.parametrize("name", STREAMABLE)
def test_step_equals_offline_causal_forward(name):
    model = build(name)
    x = _x(2, 30, seed=5)
    with torch.no_grad():
        offline = model.forward_sequence(x)
        state = model.init_state(2)
        shapes = [s.shape for s in state]
        steps = []
        for t in range(x.shape[1]):
            logits_t, *state = model.step(x[:, t], *state)
            steps.append(logits_t)
            assert [s.shape for s in state] == shapes  # fixed-shape state, exportable
        last = model(x)
    assert offline.shape == (2, 30, NUM_CLASSES)
    torch.testing.assert_close(torch.stack(steps, dim=1), offline, atol=1e-5, rtol=0)
    torch.testing.assert_close(last, offline[:, -1])


@pytest.mark.parametrize("name", STREAMABLE)
def test_causal_models_ignore_the_future(name):
    model = build(name)
    x = _x(1, 40, seed=6)
    y = x.clone()
    y[:, 25:] += 3.0
    with torch.no_grad():
        a, b = model.forward_sequence(x), model.forward_sequence(y)
    torch.testing.assert_close(a[:, :25], b[:, :25])
    assert not torch.allclose(a[:, 25:], b[:, 25:])
