"""Teacher-specific behaviour the generic zoo suite (test_zoo.py) does not cover.

Modality branches (IMU-only and full-sensor sequences in one batch, missing values inert, layout
errors), demographics, the binary head, exact padding invariance of the BiGRU teachers, masked
BatchNorm in training, the conv STFT against `torch.stft`, default sizes, ONNX with modalities.
Models are tiny; BatchNorm running statistics are calibrated on data first, because a fresh
model in eval mode barely reacts to its input and would pass equality tests vacuously.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

from edgekit.errors import EdgekitError
from edgekit.models.layers.bigru import MaskedBiGRU
from edgekit.models.layers.masking import MaskedBatchNorm
from edgekit.models.layers.mbconv2d import MBConvStage
from edgekit.models.layers.modality import InputLayout, ModalityEncoder
from edgekit.models.layers.spectrogram import SpectrogramFrontend, StftConv
from edgekit.models.registry import create_model, list_models
from edgekit.models.teachers.resnet1d import ResNetStage

TEACHERS = ("cnn_bigru_attn", "densenet1d", "inception_time", "minirocket", "resnet1d", "spectro2d",
            "squeezeformer", "squeezeformer_cls", "unet_se_wave_gru", "wavenet1d")
TINY = {
    "squeezeformer": dict(d_model=32, layers=1, num_heads=4, d_ff=64, kernel_size=7),
    "squeezeformer_cls": dict(d_model=32, layers=1, num_heads=4, d_ff=64, kernel_size=7),
    "densenet1d": dict(stem_chs=16, block_depths=(2, 2), growth_rate=8, exp_ratio=2),
    "cnn_bigru_attn": dict(chs=(16, 32), gru_hidden=16, dense=(32, 16)),
    "unet_se_wave_gru": dict(stem_chs=16, unet_chs=(16, 32), wave_chs=16, wave_rates=3, gru_hidden=16, head_chs=16),
    "resnet1d": dict(stem_chs=16, stages=(ResNetStage(16, 1, 1), ResNetStage(32, 1, 2))),
    "wavenet1d": dict(chs=16, dilations=(1, 2, 4)),
    "spectro2d": dict(n_fft=8, hop_length=2, stem_chs=8, head_chs=16, stages=(MBConvStage(16, 1, (2, 2)),)),
    "inception_time": dict(filters=4, depth=3, kernel_sizes=(9, 5, 3), bottleneck_chs=4, stem_chs=8),
    "minirocket": dict(num_features=168),
}
NO_DROP = {"squeezeformer": dict(drop=0.0), "squeezeformer_cls": dict(drop=0.0),
           "spectro2d": dict(drop=0.0, drop_path=0.0)}
LAYOUT = InputLayout(imu_chs=6, thm_chs=2, tof_sensors=2, demo_chs=3)
FULL_CHS = LAYOUT.in_chs  # 6 + 2 + 2 * 64 = 136


def _tiny(name: str, in_chs: int = 6, num_classes: int = 5, **opts):
    torch.manual_seed(0)
    return create_model(name, in_chs=in_chs, num_classes=num_classes, **{**TINY[name], **opts})


def _padded(seqs: list[torch.Tensor], pad_value: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad `(L, C)` sequences into `(B, T, C)` plus a `(B, T)` bool mask."""
    T = max(len(s) for s in seqs)
    x = torch.full((len(seqs), T, seqs[0].shape[1]), pad_value)
    mask = torch.zeros(len(seqs), T, dtype=torch.bool)
    for i, s in enumerate(seqs):
        x[i, : len(s)], mask[i, : len(s)] = s, True
    return x, mask


@torch.no_grad()
def _calibrated(model, x, mask=None, **kwargs):
    """Set every BatchNorm's running statistics from one batch, then switch to eval."""
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            module.reset_running_stats()
            module.momentum = None  # cumulative average: one batch sets the statistics
    model.train()
    model(x, mask, **kwargs)
    return model.eval()


def _sensor_batch(T: int = 12) -> tuple[torch.Tensor, torch.Tensor]:
    """Three sequences over LAYOUT; sequence 1 is IMU-only (thermopile and ToF all zero)."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(3, T, FULL_CHS, generator=g)
    x[:, :, 8:] = torch.rand(3, T, 128, generator=g) * 3.0  # ToF-like non-negative distances
    x[1, :, 6:] = 0.0
    mask = torch.ones(3, T, dtype=torch.bool)
    mask[2, 9:] = False
    return x, mask


# ---------------------------------------------------------------- layout and modality branches


def test_layout_errors_name_the_mismatch():
    with pytest.raises(EdgekitError, match=r"in_chs=40 .*imu_chs 7 \+ thm_chs 5 \+ tof_sensors 5 x 64 = 332"):
        create_model("resnet1d", in_chs=40, num_classes=18, layout=InputLayout(7, 5, 5))
    with pytest.raises(EdgekitError, match="imu_chs must be >= 1"):
        InputLayout(imu_chs=0, thm_chs=5).validate(5)
    with pytest.raises(EdgekitError, match="tof_sensors must be >= 0"):
        InputLayout(imu_chs=7, tof_sensors=-1).validate(7 - 64)
    InputLayout(7, 5, 5).validate(332)  # consistent layouts pass


def test_presence_is_derived_from_real_steps_only():
    enc = ModalityEncoder(InputLayout(imu_chs=2, thm_chs=1, tof_sensors=1), out_chs=4)
    x = torch.zeros(3, 5, 2 + 1 + 64)
    mask = torch.ones(3, 5, dtype=torch.bool)
    x[0, 2, 2] = 0.5  # thermopile reading on a real step
    x[1, :, 3:] = float("nan")  # NaN-filled ToF reads as missing
    x[1, 4, 2] = 7.0  # thermopile value only on a padded step: not present
    mask[1, 4] = False
    x[2, 0, 10] = -1.0  # one ToF "no return" pixel is a reading
    x = torch.where(torch.isfinite(x), x, torch.zeros_like(x))
    assert enc.presence(x, mask).tolist() == [[True, False], [False, False], [False, True]]


@pytest.mark.parametrize("name", TEACHERS)
def test_missing_modality_values_do_not_change_output(name):
    model = _tiny(name, in_chs=FULL_CHS, layout=LAYOUT)
    x, mask = _sensor_batch()
    model = _calibrated(model, x, mask)
    with torch.no_grad():
        ref = model(x, mask)
        nan_filled = x.clone()
        nan_filled[1, :, 6:] = float("nan")
        assert torch.equal(model(nan_filled, mask), ref)
        # an explicit modality mask makes whatever sits in the missing channels irrelevant
        noisy = x.clone()
        noisy[1, :, 6:] = torch.randn(12, FULL_CHS - 6) * 5.0
        flags = torch.tensor([[True, True], [False, False], [True, True]])
        assert torch.allclose(model(noisy, mask, modality_mask=flags), ref, atol=1e-6)
        # ... and the derived flags would have used them: the override is what protects row 1
        assert (model(noisy, mask)[1] - ref[1]).abs().max() > 1e-6
        noisy[1, :, 6:] = 3e38  # even values that overflow a branch must not leak (inf * 0 = nan)
        assert torch.allclose(model(noisy, mask, modality_mask=flags), ref, atol=1e-6)
        # IMU-only and full-sensor sequences in one batch give what each gives alone
        for i in range(3):
            alone = model(x[i : i + 1, : int(mask[i].sum())])
            assert torch.allclose(alone, ref[i : i + 1], atol=1e-5), name


@pytest.mark.parametrize("name", [t for t in TEACHERS if t != "minirocket"])  # MiniRocket reads channels directly
def test_sensor_branches_are_live(name):
    model = _tiny(name, in_chs=FULL_CHS, layout=LAYOUT)
    x, mask = _sensor_batch()
    model = _calibrated(model, x, mask)
    with torch.no_grad():
        ref = model(x, mask)
        for lo, hi in ((6, 8), (8, FULL_CHS)):  # thermopile, then ToF
            moved = x.clone()
            moved[0, :, lo:hi] = moved[0, :, lo:hi] * 2.0 + 1.0
            assert (model(moved, mask)[0] - ref[0]).abs().max() > 1e-6, (name, lo)
        # the learned "missing" embedding stands in for absent branches, and only for them
        # (a random change: adding a constant to every width would vanish in a LayerNorm)
        model.stem.missing.add_(torch.randn_like(model.stem.missing))
        out = model(x, mask)
    assert (out[1] - ref[1]).abs().max() > 1e-6
    assert torch.allclose(out[0], ref[0], atol=1e-6)


# ---------------------------------------------------------------- demographics and binary head


@pytest.mark.parametrize("name", ["squeezeformer", "cnn_bigru_attn"])
def test_demographics_path(name):
    model = _tiny(name, in_chs=FULL_CHS, layout=LAYOUT)
    x, mask = _sensor_batch()
    demo = torch.randn(3, 3)
    model = _calibrated(model, x, mask, demographics=demo)
    with torch.no_grad():
        without = model(x, mask)
        with_demo = model(x, mask, demographics=demo)
        other = model(x, mask, demographics=demo + 1.0)
    assert (with_demo - without).abs().max() > 1e-6
    assert (other - with_demo).abs().max() > 1e-6
    with pytest.raises(EdgekitError, match="demo_chs=3"):
        model(x, mask, demographics=torch.randn(3, 4))
    plain = _tiny(name)
    with pytest.raises(EdgekitError, match="demo_chs=0"):
        plain(torch.randn(2, 8, 6), demographics=torch.randn(2, 3))


@pytest.mark.parametrize("name", TEACHERS)
def test_forward_train_has_binary_head(name):
    model = _tiny(name)
    x, mask = _padded([torch.randn(10, 6), torch.randn(7, 6)])
    out = model.forward_train(x, mask)
    assert set(out) == {"logits", "binary"}
    assert out["logits"].shape == (2, 5) and out["binary"].shape == (2,)
    out["binary"].sum().backward()
    assert model.binary_head.weight.grad.abs().sum() > 0
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(x, mask), model.forward_train(x, mask)["logits"])


# ---------------------------------------------------------------- padding


def test_masked_bigru_equals_torch_bidirectional_gru():
    torch.manual_seed(0)
    ours = MaskedBiGRU(5, 7)
    ref = torch.nn.GRU(5, 7, batch_first=True, bidirectional=True)
    with torch.no_grad():
        for p in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
            getattr(ref, p).copy_(getattr(ours.fwd[0], p))
            getattr(ref, p + "_reverse").copy_(getattr(ours.bwd[0], p))
    seqs = [torch.randn(L, 5) for L in (11, 4, 8)]
    x, mask = _padded(seqs, pad_value=50.0)
    with torch.no_grad():
        out = ours(x, mask)
        for i, s in enumerate(seqs):
            alone, _ = ref(s[None])
            assert torch.allclose(out[i, : len(s)], alone[0], atol=1e-6)
            assert torch.all(out[i, len(s) :] == 0)


@pytest.mark.parametrize("name", ["cnn_bigru_attn", "unet_se_wave_gru"])
def test_bigru_teachers_ignore_right_padding(name):
    model = _tiny(name)
    seqs = [torch.randn(L, 6) for L in (23, 9, 16, 5)]
    x, mask = _padded(seqs, pad_value=0.0)
    model = _calibrated(model, x, mask)
    garbage = torch.where(mask[..., None], x, torch.randn_like(x) * 100.0)
    with torch.no_grad():
        batch = model(garbage, mask)
        alone = torch.cat([model(s[None]) for s in seqs])
    assert batch.std(0).mean() > 1e-3  # the check below is not vacuous
    assert torch.allclose(batch, alone, atol=1e-5), (batch - alone).abs().max()


@pytest.mark.parametrize("name", TEACHERS)
def test_training_statistics_ignore_padding(name):
    """Masked BatchNorm: in train mode the amount of padding must not change anything."""
    opts = NO_DROP.get(name, {"drop": 0.0})
    model = _tiny(name, **opts).train()
    seqs = [torch.randn(L, 6) for L in (14, 9, 11)]
    x, mask = _padded(seqs)
    x_more, mask_more = _padded(seqs + [torch.zeros(21, 6)])
    x_more, mask_more = x_more[:3], mask_more[:3]  # same batch, 7 more padded steps
    torch.manual_seed(0)
    a = model(x, mask)
    torch.manual_seed(0)
    b = model(x_more, mask_more)
    assert torch.allclose(a, b, atol=1e-5), (a - b).abs().max()


def test_masked_batchnorm_matches_batchnorm_on_real_steps():
    torch.manual_seed(0)
    norm, ref = MaskedBatchNorm(4), torch.nn.BatchNorm1d(4)
    x = torch.randn(2, 4, 10) * 3 + 1
    mask = torch.ones(2, 1, 10)
    mask[1, :, 6:] = 0
    out = norm(x, mask)
    real = torch.cat([x[0], x[1, :, :6]], dim=1)  # (C, 16)
    want = ref(real.T[:, :, None])[:, :, 0].T
    assert torch.allclose(torch.cat([out[0], out[1, :, :6]], dim=1), want, atol=1e-5)
    assert torch.allclose(norm.running_mean, ref.running_mean, atol=1e-6)
    assert torch.allclose(norm.running_var, ref.running_var, atol=1e-5)


# ---------------------------------------------------------------- spectrogram


@pytest.mark.parametrize("frontend", [SpectrogramFrontend.STFT, SpectrogramFrontend.LEARNED])
def test_stft_conv_equals_torch_stft(frontend):
    n_fft, hop = 16, 4
    t = torch.arange(50, dtype=torch.float32)
    x = torch.stack([torch.sin(0.7 * t) + 0.3 * torch.randn(50), torch.cos(2.1 * t), torch.randn(50)])[None]
    layer = StftConv(n_fft, hop, frontend)
    got = layer.magnitude(x)
    want = torch.stft(x[0], n_fft, hop, window=torch.hann_window(n_fft), center=True, pad_mode="constant",
                      return_complex=True).abs()
    assert got.shape == (1, 3, n_fft // 2 + 1, 50 // hop + 1)
    assert torch.allclose(got[0], want, atol=1e-4)
    assert any(p is layer.kernels for p in layer.parameters()) == (frontend is SpectrogramFrontend.LEARNED)


def test_stft_frame_mask_keeps_exactly_the_frames_of_the_unpadded_sequence():
    layer = StftConv(8, 2)
    x = torch.randn(2, 3, 30)
    mask = torch.ones(2, 1, 30)
    mask[1, :, 17:] = 0
    spec = layer(x * mask)
    frames = layer.frame_mask(mask, spec)
    alone = layer(x[1:, :, :17])
    assert int(frames[1].sum()) == alone.shape[-1]
    assert torch.allclose(spec[1, ..., : alone.shape[-1]], alone[0], atol=1e-5)


# ---------------------------------------------------------------- sizes and export


PARAM_RANGES = {
    "cnn_bigru_attn": (2e5, 2e6),
    "densenet1d": (1e6, 1e7),
    "inception_time": (2e5, 2e6),
    "minirocket": (1e5, 5e5),
    "resnet1d": (1e6, 1e7),
    "spectro2d": (1e5, 3e6),
    "squeezeformer": (5e6, 3e7),
    "squeezeformer_cls": (5e6, 3e7),
    "unet_se_wave_gru": (5e5, 1e7),
    "wavenet1d": (5e5, 5e6),
}


def test_every_teacher_is_registered_and_tested_here():
    assert set(list_models(kind="teacher")) == set(TEACHERS) == set(PARAM_RANGES)


@pytest.mark.parametrize("name", TEACHERS)
def test_default_size_parameter_count(name):
    model = create_model(name, in_chs=40, num_classes=18)
    params = sum(p.numel() for p in model.parameters())
    lo, hi = PARAM_RANGES[name]
    assert lo <= params <= hi, f"{name}: {params:,} parameters"
    with torch.no_grad():
        assert model.eval()(torch.randn(1, 16, 40)).shape == (1, 18)


@pytest.mark.parametrize("name", ["cnn_bigru_attn", "squeezeformer"])
def test_onnx_export_with_modalities(tmp_path, name):
    from edgekit.export import names
    from edgekit.export.onnx import export_onnx, onnx_session

    model = _tiny(name, in_chs=FULL_CHS, layout=LAYOUT)
    x, mask = _sensor_batch()
    model = _calibrated(model, x, mask)
    result = export_onnx(model, tmp_path / f"{name}.onnx", in_chs=FULL_CHS, length=10, with_mask=True)
    session = onnx_session(result.path)
    for batch, T in ((3, 12), (1, 7)):
        xb, mb = x[:batch, :T].contiguous(), mask[:batch, :T].contiguous()
        (got,) = session.run([names.OUTPUT], {names.INPUT: xb.numpy(), names.MASK: mb.numpy()})
        with torch.no_grad():
            want = model(xb, mb).numpy()
        np.testing.assert_allclose(got, want, atol=1e-4)
