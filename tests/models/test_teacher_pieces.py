"""The teacher pieces from the G2Net and CMI notes, each checked where it could silently break:
GeM and attention pooling, the Morlet CWT front end, DenseNet blocks, the Squeezeformer -> BERT
form and the earlier form's weights, and the teacher ensemble's ONNX export with the new pieces.
(The model contract — padding, shapes, ONNX parity — runs over them in `test_zoo.py`.)
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from edgekit.errors import EdgekitError
from edgekit.export.onnx import check_onnx_parity, export_onnx
from edgekit.export.teachers import AveragedEnsemble
from edgekit.models.layers.attention_pool import AttentionPool1d
from edgekit.models.layers.cwt import MorletCwt
from edgekit.models.layers.dense_block import DenseBlock1d, Transition1d
from edgekit.models.layers.gem import MaskedGeM
from edgekit.models.layers.global_pool import create_global_pool
from edgekit.models.layers.modality import InputLayout
from edgekit.models.layers.pooling import masked_max, masked_mean
from edgekit.models.layers.spectrogram import create_frontend
from edgekit.models.layers.squeezeformer import SqueezeformerBlock
from edgekit.models.registry import create_model
from edgekit.models.teachers.base import TeacherBase

from zoo_helpers import IN_CHS, build


def _masked_batch(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """`(2, 4, 9)` positive features, the second row padded after 5 steps with huge garbage."""
    x = torch.rand(2, 4, 9, generator=torch.Generator().manual_seed(seed)) + 0.1
    mask = torch.ones(2, 1, 9)
    mask[1, :, 5:] = 0
    x[1, :, 5:] = 1e6
    return x, mask


# ---------------------------------------------------------------- pooling


def test_gem_with_p_1_is_the_masked_mean_and_large_p_nears_the_masked_max():
    x, mask = _masked_batch()
    gem = MaskedGeM(p=1.0)
    torch.testing.assert_close(gem(x, mask), masked_mean(x, mask))
    sharp = MaskedGeM(p=60.0, learn_p=False)
    torch.testing.assert_close(sharp(x, mask), masked_max(x, mask), rtol=0.05, atol=0)
    assert [n for n, _ in MaskedGeM().named_parameters()] == ["p"]  # the exponent is learned


def test_attention_pool_ignores_padded_steps():
    torch.manual_seed(0)
    pool = AttentionPool1d(4, hidden_chs=8)
    x, mask = _masked_batch()
    with torch.no_grad():
        batched = pool(x, mask)
        alone = pool(x[1:, :, :5])
        weights = torch.softmax(pool.score(x[1:, :, :5].transpose(1, 2)).squeeze(-1), dim=1)
    torch.testing.assert_close(batched[1:], alone)
    torch.testing.assert_close(alone, torch.einsum("bt,bct->bc", weights, x[1:, :, :5]))


def test_pool_choices_and_their_feature_counts():
    counts = {name: create_global_pool(name, 8)[1] for name in ("avg", "max", "avgmax", "gem", "attention")}
    assert counts == {"avg": 8, "max": 8, "avgmax": 16, "gem": 8, "attention": 8}
    with pytest.raises(EdgekitError, match="pool = 'mean'.*avg, max, avgmax, gem, attention"):
        create_model("resnet1d", in_chs=4, num_classes=3, pool="mean")


def test_default_pools_keep_the_earlier_state_dict():
    """`pool` defaults to what each teacher pooled with before, so saved weights still load."""
    for name, pool in (("resnet1d", "avgmax"), ("wavenet1d", "avgmax"), ("spectro2d", "avg")):
        default, explicit = build(name), build(name, pool=pool)
        assert list(default.state_dict()) == list(explicit.state_dict())
        assert not any(k.startswith("pool.") for k in default.state_dict())
        assert any(k.startswith("pool.") for k in build(name, pool="attention").state_dict())


# ---------------------------------------------------------------- CWT front end


@pytest.mark.parametrize("scale", [2, 7, 13])
def test_cwt_peaks_at_the_scale_of_a_sinusoid(scale):
    cwt = MorletCwt(num_scales=17, hop_length=4, f_min=1 / 32)
    f = float(cwt.freqs[scale])
    t = torch.arange(400, dtype=torch.float32)
    power = cwt(torch.cos(2 * math.pi * f * t)[None, None])  # (1, 1, S, N)
    profile = power[0, 0, :, 30:70].mean(-1)  # frames far from both ends
    assert int(profile.argmax()) == scale
    # a unit cosine has magnitude 1/2 at its own scale (each envelope sums to 1)
    assert abs(float(profile[scale].sqrt()) - 0.5) < 0.02


def test_cwt_frame_mask_keeps_exactly_the_frames_of_the_unpadded_sequence():
    cwt = create_frontend("cwt", n_fft=16, hop_length=2)
    assert isinstance(cwt, MorletCwt) and cwt.n_bins == 9
    x = torch.randn(2, 3, 30)
    mask = torch.ones(2, 1, 30)
    mask[1, :, 17:] = 0
    spec = cwt(x * mask)
    alone = cwt(x[1:, :, :17])
    assert int(cwt.frame_mask(mask, spec)[1].sum()) == alone.shape[-1]
    torch.testing.assert_close(spec[1, ..., : alone.shape[-1]], alone[0], atol=1e-5, rtol=1e-4)
    with pytest.raises(EdgekitError, match="frontend = 'cqt'.*stft, learned, cwt"):
        create_frontend("cqt")


# ---------------------------------------------------------------- DenseNet


def test_dense_block_concatenates_and_transition_halves_time():
    block = DenseBlock1d(6, depth=3, growth_rate=4).eval()
    x, mask = torch.randn(1, 6, 11), torch.ones(1, 1, 11)
    y, _ = block(x, mask)
    assert y.shape == (1, 6 + 3 * 4, 11) and block.out_chs == 18
    assert torch.equal(y[:, :6], x)  # earlier features pass through untouched
    pooled, out_mask = Transition1d(18, 9).eval()(y, mask)
    assert pooled.shape == (1, 9, 6) and out_mask.sum() == 6  # ceil(11 / 2): the last step survives


# ---------------------------------------------------------------- Squeezeformer -> BERT


class _EarlierSqueezeformer(TeacherBase):
    """The squeezeformer teacher as it was before the BERT stage (CLS in the Squeezeformer stack)."""

    def __init__(self, in_chs, num_classes, d_model, layers, num_heads, d_ff, kernel_size, drop=0.0):
        super().__init__(in_chs, num_classes, None, d_model, drop)
        self.stem = self.make_stem(d_model)
        self.cls = nn.Parameter(torch.randn(1, 1, d_model) * 0.02)
        self.blocks = nn.ModuleList(
            SqueezeformerBlock(d_model, num_heads, d_ff, kernel_size, drop=drop) for _ in range(layers)
        )

    def forward_features(self, x, mask, modality_mask):
        x = self.stem(x, mask, modality_mask)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1)
        mask = torch.cat([torch.ones_like(mask[:, :1]), mask], dim=1)
        for block in self.blocks:
            x = block(x, mask)
        return x[:, 0]


SIZES = dict(d_model=16, layers=2, num_heads=2, d_ff=32, kernel_size=7)


def test_bert_layers_0_loads_the_earlier_weights_and_computes_the_same():
    torch.manual_seed(0)
    earlier = _EarlierSqueezeformer(IN_CHS, 5, **SIZES).eval()
    state = earlier.state_dict()
    for name in ("squeezeformer_cls", "squeezeformer"):
        opts = {} if name == "squeezeformer_cls" else {"bert_layers": 0}
        model = create_model(name, in_chs=IN_CHS, num_classes=5, **SIZES, **opts).eval()
        assert list(model.state_dict()) == list(state)
        model.load_state_dict(state)
        x = torch.randn(2, 20, IN_CHS)
        with torch.no_grad():
            torch.testing.assert_close(model(x), earlier(x))


def test_bert_form_puts_the_cls_token_after_the_squeezeformer_stack():
    model = create_model("squeezeformer", in_chs=IN_CHS, num_classes=5, **SIZES).eval()
    assert len(model.bert) == 2  # the default form has the BERT stage
    assert {k.split(".")[0] for k in model.state_dict()} >= {"stem", "cls", "blocks", "bert"}
    x = torch.randn(1, 20, IN_CHS)
    seen = {}

    def record(stage):
        def hook(module, args, out):
            seen[stage] = out.shape[1]
        return hook

    model.blocks[0].register_forward_hook(record("blocks"))
    model.bert[0].register_forward_hook(record("bert"))
    with torch.no_grad():
        model(x)
    assert seen == {"blocks": 20, "bert": 21}  # the CLS token joins only in the BERT stage
    with pytest.raises(EdgekitError, match=r"without a BERT stage.*bert_layers = 0 \(or the name squeezeformer_cls\)"):
        model.load_state_dict(_EarlierSqueezeformer(IN_CHS, 5, **SIZES).state_dict())
    with pytest.raises(EdgekitError, match="bert_layers must be >= 0"):
        create_model("squeezeformer", in_chs=IN_CHS, num_classes=5, bert_layers=-1)


# ---------------------------------------------------------------- export as a teacher ensemble


def test_teacher_ensemble_with_the_new_pieces_exports_to_onnx(tmp_path):
    members = [[build("spectro2d", frontend="cwt", pool="gem")], [build("densenet1d", pool="attention")],
               [build("squeezeformer")]]
    ensemble = AveragedEnsemble(members).eval()
    result = export_onnx(ensemble, tmp_path / "teachers.onnx", IN_CHS, 32)
    g = torch.Generator().manual_seed(0)
    parity = check_onnx_parity(ensemble, result.path, [torch.randn(1, 32, IN_CHS, generator=g),
                                                       torch.randn(3, 45, IN_CHS, generator=g)])
    assert parity["max_abs_diff"] <= 1e-4 and parity["argmax_agreement"] == 1.0, parity


def test_new_options_are_recipe_values():
    """Plain strings and lists, as a TOML recipe gives them, build every new form."""
    from edgekit.train.recipe import model_options

    layout = InputLayout(imu_chs=IN_CHS)
    for name, opts in (("densenet1d", {"block_depths": [2, 2], "growth_rate": 4, "pool": "gem"}),
                       ("spectro2d", {"frontend": "cwt", "pool": "attention", "n_fft": 16}),
                       ("squeezeformer", {"bert_layers": 1, **SIZES})):
        model = create_model(name, in_chs=IN_CHS, num_classes=3, layout=layout, **model_options(name, opts))
        with torch.no_grad():
            assert model.eval()(torch.randn(1, 24, IN_CHS)).shape == (1, 3)
