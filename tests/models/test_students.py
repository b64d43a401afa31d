"""Students and their layers: budgets, options, physics head, masking and streaming details."""

from __future__ import annotations

import warnings
from dataclasses import fields

import numpy as np
import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

from edgekit.errors import EdgekitError
from edgekit.export import names
from edgekit.export.onnx import Exporter, check_onnx_parity, choose_exporter, export_onnx, onnx_session
from edgekit.models.costs import count_params
from edgekit.models.layers import MBConv1d, SqueezeExcite, get_act, get_norm
from edgekit.models.layers.factories import NoNorm
from edgekit.models.layers.masking import MaskedBatchNorm
from edgekit.models.registry import create_model, list_models, register_model

from zoo_helpers import IN_CHS, NUM_CLASSES, StepGraph, build, randomize_norms

XS = [n for n in list_models(kind="student") if n.endswith("_xs")]


def test_every_family_has_xs_s_and_causal_presets():
    students = set(list_models(kind="student"))
    for family in ("modern_tcn", "mbconv_tcn"):
        assert {f"{family}_xs", f"{family}_s", f"{family}_m"} <= students
        assert {f"{family}_causal_xs", f"{family}_causal_s"} <= set(list_models(streamable=True))


@pytest.mark.parametrize("name", XS)
def test_xs_presets_fit_the_50k_parameter_budget(name):
    model = create_model(name, in_chs=40, num_classes=18)
    assert 10_000 < count_params(model) <= 50_000


def test_unknown_option_and_unknown_name_are_user_errors():
    with pytest.raises(EdgekitError, match="hiddenn"):
        create_model("modern_tcn_xs", in_chs=8, num_classes=3, hiddenn=16)
    with pytest.raises(EdgekitError, match="no_such_model"):
        create_model("no_such_model", in_chs=8, num_classes=3)


def test_registering_a_name_twice_is_an_error():
    def modern_tcn_xs(in_chs: int, num_classes: int):  # same name as a registered student
        raise AssertionError("must not be called")

    with pytest.raises(ValueError, match="registered twice"):
        register_model(kind="student")(modern_tcn_xs)
    assert create_model("modern_tcn_xs", in_chs=8, num_classes=3) is not None  # the original stays


def test_physics_head_defaults_and_options():
    model = build("modern_tcn_xs")
    assert model.recon_index == tuple(range(6)) and model.physics_weight == pytest.approx(0.05)
    x = torch.randn(2, 20, IN_CHS)
    mask = torch.ones(2, 20, dtype=torch.bool)
    mask[1, 15:] = False
    out = model.forward_train(x, mask)
    assert out["recon"].shape == (2, 20, 6)
    assert (out["recon"][1, 15:] == 0).all()  # padded steps carry no reconstruction
    assert "binary" not in out

    picked = build("mbconv_tcn_causal_xs", recon_chs=(1, 3), binary_head=True, physics_weight=0.2)
    out = picked.forward_train(x)
    assert picked.recon_index == (1, 3) and picked.physics_weight == 0.2
    assert out["recon"].shape == (2, 20, 2) and out["binary"].shape == (2,)
    assert "recon" not in build("modern_tcn_s", recon_chs=0).forward_train(x)
    with pytest.raises(EdgekitError, match="recon_chs"):
        build("modern_tcn_xs", recon_chs=(IN_CHS,))


def test_physics_head_is_not_part_of_forward():
    model = build("modern_tcn_xs")
    x = torch.randn(2, 20, IN_CHS)
    with torch.no_grad():
        before = model(x)
        for p in model.physics_head.parameters():
            p.add_(1.0)
        torch.testing.assert_close(model(x), before, rtol=0, atol=0)


def test_causal_presets_use_only_foldable_batchnorm():
    for name in list_models(kind="student", streamable=True):
        model = create_model(name, in_chs=IN_CHS, num_classes=NUM_CLASSES)
        norms = [m for m in model.modules() if "Norm" in type(m).__name__ and not isinstance(m, NoNorm)]
        assert norms and all(isinstance(m, _BatchNorm) for m in norms), name


@pytest.mark.parametrize("name", list_models(kind="student"))
def test_training_batch_statistics_ignore_padding(name):
    # in training mode BatchNorm normalises with batch statistics: padded steps must not enter them
    options = {f.name for f in fields(build(name).config)}
    no_dropout = {k: 0.0 for k in ("head_drop", "drop_path", "drop") if k in options}
    model = build(name, **no_dropout).train()
    torch.manual_seed(3)
    seqs = [torch.randn(30, IN_CHS), torch.randn(19, IN_CHS)]

    def batch(total: int, fill: float):
        x = torch.full((2, total, IN_CHS), fill)
        mask = torch.zeros(2, total, dtype=torch.bool)
        for i, s in enumerate(seqs):
            if model.causal:
                x[i, total - len(s):], mask[i, total - len(s):] = s, True
            else:
                x[i, : len(s)], mask[i, : len(s)] = s, True
        return x, mask

    a = model.forward_train(*batch(30, 0.0))
    b = model.forward_train(*batch(44, 7.0))
    torch.testing.assert_close(a["logits"], b["logits"], atol=1e-4, rtol=1e-4)


def test_mbconv_residual_only_when_shapes_match():
    assert MBConv1d(16, 16).has_skip
    assert not MBConv1d(16, 24).has_skip
    assert not MBConv1d(16, 16, stride=2).has_skip


def test_strided_mbconv_respects_padding():
    torch.manual_seed(0)
    block = randomize_norms(MBConv1d(8, 8, kernel_size=5, stride=2)).eval()
    x = torch.randn(1, 8, 24)
    padded = torch.cat([x, torch.full((1, 8, 9), 4.0)], dim=-1)
    mask = torch.zeros(1, 1, 33)
    mask[..., :24] = 1
    with torch.no_grad():
        alone, batched = block(x), block(padded, mask)
    assert alone.shape[-1] == 12
    torch.testing.assert_close(batched[..., :12], alone, atol=1e-5, rtol=1e-4)


def test_causal_squeeze_excite_gate_uses_running_mean():
    torch.manual_seed(0)
    se = SqueezeExcite(4, rd_ratio=0.5, causal=True).eval()
    x = torch.randn(1, 4, 10)
    with torch.no_grad():
        full = se(x)
        prefix = se(x[..., :6])
    torch.testing.assert_close(full[..., :6], prefix)


def test_factories_resolve_names_and_reject_unknown():
    assert get_act("gelu") is torch.nn.GELU and get_act(torch.nn.SiLU) is torch.nn.SiLU
    assert get_norm("batch") is MaskedBatchNorm and get_norm(None) is NoNorm
    with pytest.raises(ValueError, match="gelu"):
        get_act("gelux")
    with pytest.raises(ValueError, match="batch"):
        get_norm("instance")


def test_exporter_choice_and_opset_check(tmp_path):
    model = build("modern_tcn_xs")
    assert choose_exporter(model) is Exporter.LEGACY
    assert choose_exporter(model, "dynamo") is Exporter.DYNAMO
    with pytest.raises(EdgekitError, match="opset"):
        export_onnx(model, tmp_path / "m.onnx", IN_CHS, 16, opset=17)


@pytest.mark.slow  # the dynamo exporter takes ~10 s even for a tiny model
def test_dynamo_exporter_matches_torch_on_a_student(tmp_path):
    model = build("modern_tcn_causal_xs")
    result = export_onnx(model, tmp_path / "m.onnx", IN_CHS, 32, exporter="dynamo")
    assert result.exporter is Exporter.DYNAMO and not list(tmp_path.glob("*.data"))
    parity = check_onnx_parity(model, result.path, [torch.randn(1, 32, IN_CHS), torch.randn(3, 45, IN_CHS)])
    assert parity["max_abs_diff"] <= 1e-4 and parity["argmax_agreement"] == 1.0, parity


def test_export_with_mask_input(tmp_path):
    model = build("mbconv_tcn_xs")
    result = export_onnx(model, tmp_path / "m.onnx", IN_CHS, 24, with_mask=True)
    x = torch.randn(2, 24, IN_CHS)
    mask = torch.ones(2, 24, dtype=torch.bool)
    mask[0, 17:] = False
    (got,) = onnx_session(result.path).run([names.OUTPUT], {names.INPUT: x.numpy(), names.MASK: mask.numpy()})
    with torch.no_grad():
        want = model(x, mask).numpy()
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_step_state_is_exportable(tmp_path):
    # the streaming export issue builds on this: a flat, fixed-shape state traces to an ONNX step model
    model = build("modern_tcn_causal_xs")
    state = model.init_state(1)
    state_in, state_out = names.state_names(len(state))
    path = tmp_path / "step.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the legacy exporter announces its future
        torch.onnx.export(StepGraph(model).eval(), (torch.zeros(1, IN_CHS), *state), str(path), dynamo=False, opset_version=18,
                          input_names=[names.STEP_INPUT, *state_in], output_names=[names.STEP_OUTPUT, *state_out])
    session = onnx_session(path)
    x = torch.randn(6, 1, IN_CHS)
    onnx_state = [s.numpy() for s in state]
    with torch.no_grad():
        for t in range(len(x)):
            want, *state = model.step(x[t], *state)
            got, *onnx_state = session.run(None, {names.STEP_INPUT: x[t].numpy(),
                                                  **dict(zip(state_in, onnx_state))})
            np.testing.assert_allclose(got, want.numpy(), atol=1e-5)


def test_input_means_reach_the_classifier_and_not_the_physics_head():
    """`input_means`: the classifier reads every input channel's window mean beside the pooled features."""
    import torch

    from edgekit.models.registry import create_model

    plain = create_model("modern_tcn_xs", in_chs=9, num_classes=4)
    model = create_model("modern_tcn_xs", in_chs=9, num_classes=4, input_means=True).eval()
    assert model.head.fc.in_features == plain.head.fc.in_features + 9
    assert model.physics_head.fc1.in_channels == plain.physics_head.fc1.in_channels
    x = torch.randn(2, 64, 9)
    with torch.no_grad():
        model.head.fc.weight.zero_()
        model.head.fc.weight[:, -9:] = torch.eye(4, 9)  # class k reads channel k's mean only
        model.head.fc.bias.zero_()
        model.head.norm = torch.nn.Identity()
        logits = model(x)
    assert torch.allclose(logits, x.mean(dim=1)[:, :4], atol=1e-5)


def test_window_standardize_adds_each_channel_standardised_within_its_window():
    """`window_standardize`: the backbone reads the inputs and, beside them, each channel minus its
    window mean over its window std, over real samples only; a padded batch gives each sequence's
    own logits; streaming students refuse it."""
    from edgekit.models.layers.window_standardize import WindowStandardize

    torch.manual_seed(0)
    x = torch.randn(3, 4, 40) * torch.tensor([0.3, 1.0, 100.0, 5.0]).view(1, 4, 1) + 7.0
    mask = torch.ones(3, 1, 40)
    mask[1, :, 30:] = 0.0
    out = WindowStandardize()(x * mask, mask)
    assert out.shape == (3, 8, 40) and torch.equal(out[:, :4], x * mask)
    real = out[1, 4:, :30]
    assert torch.allclose(real.mean(-1), torch.zeros(4), atol=1e-4)
    assert torch.allclose(real.std(-1, unbiased=False), torch.ones(4), atol=1e-3)  # the 0.3 channel too
    assert torch.equal(out[1, 4:, 30:], torch.zeros(4, 10))
    constant = WindowStandardize()(torch.full((1, 2, 16), 3.0))
    assert torch.equal(constant[:, 2:], torch.zeros(1, 2, 16))  # no spread: zero, not noise blown up

    plain = create_model("modern_tcn_xs", in_chs=4, num_classes=3)
    model = create_model("modern_tcn_xs", in_chs=4, num_classes=3, window_standardize=True)
    assert model.backbone.stem.in_channels == 2 * plain.backbone.stem.in_channels
    randomize_norms(model)
    model.eval()
    seqs = [torch.randn(40, 4), torch.randn(30, 4)]
    batch = torch.zeros(2, 40, 4)
    batch[0], batch[1, :30] = seqs
    pad_mask = torch.zeros(2, 40, dtype=torch.bool)
    pad_mask[0], pad_mask[1, :30] = True, True
    with torch.no_grad():
        padded = model(batch, pad_mask)
        alone = torch.cat([model(s[None], torch.ones(1, len(s), dtype=torch.bool)) for s in seqs])
    assert torch.allclose(padded, alone, atol=1e-4)
    # the small movements count: a still window scaled 3x down gives (nearly) the same standardised channels
    with torch.no_grad():
        still = seqs[0][None] / 3
        assert torch.allclose(model.window_standardize(still.transpose(1, 2))[:, 4:],
                              model.window_standardize(seqs[0][None].transpose(1, 2))[:, 4:], atol=5e-3)
    for causal in ("modern_tcn_causal_xs", "mbconv_tcn_causal_xs"):
        with pytest.raises(EdgekitError, match="causal"):
            create_model(causal, in_chs=4, num_classes=3, window_standardize=True)
