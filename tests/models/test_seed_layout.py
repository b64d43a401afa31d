"""The seed note's ModernTCN (`shared/seeds/002`): its layout, its receptive-field rule, and the
physics head's targets chosen by channel name."""

from __future__ import annotations

import pytest
import torch

from edgekit.features import FeatureSpec
from edgekit.models.layers import LargeKernelConv, SqueezeExcite
from edgekit.models.registry import create_model
from edgekit.models.students.modern_tcn import (
    DESIGN_LENGTH,
    RF_RANGE,
    ModernTCNConfig,
    dilations_for_length,
    receptive_field,
)
from edgekit.models.students.physics import physics_targets, with_physics_targets

from zoo_helpers import randomize_norms

UCI_RAW = ("body_acc_x", "body_acc_y", "body_acc_z", "body_gyro_x", "body_gyro_y", "body_gyro_z",
           "total_acc_x", "total_acc_y", "total_acc_z")


@pytest.mark.parametrize("name", ["modern_tcn_xs", "modern_tcn_s", "modern_tcn_m", "modern_tcn_causal_xs"])
def test_default_modern_tcn_has_the_notes_layout(name):
    model = create_model(name, in_chs=40, num_classes=6)
    backbone, hidden = model.backbone, model.config.hidden
    # large-kernel depthwise convs before and after the blocks
    for mixer in (backbone.large_kernel, backbone.final_large_kernel):
        assert isinstance(mixer, LargeKernelConv)
        assert mixer.conv_dw.kernel_size == (21,) and mixer.conv_dw.groups == hidden
    # one squeeze-excite, after the final mixer, none in the blocks
    assert [m for m in model.modules() if isinstance(m, SqueezeExcite)] == [backbone.se]
    assert all(isinstance(block.se, torch.nn.Identity) for block in backbone.blocks)
    # full-width multi-scale branches: each as wide as the block
    for block in backbone.blocks:
        assert [b.conv_pw.out_channels for b in block.ms_conv.branches] == [hidden, hidden]
        assert block.ms_conv.fuse.in_channels == 2 * hidden


def test_receptive_field_formula_matches_the_note():
    # the note's numbers: 2, 3, 4 layers → 77, 125, 221 (k_large = 21, k_max = 7)
    for layers, rf in ((2, 77), (3, 125), (4, 221)):
        assert receptive_field(ModernTCNConfig(dilations=tuple(2 ** i for i in range(layers)))) == rf
    assert dilations_for_length(128) == (1, 2, 4)
    for length in (64, 96, 160, 256, 512):  # the band holds for the lengths the recipes use
        rf = receptive_field(ModernTCNConfig(dilations=dilations_for_length(length)))
        assert RF_RANGE[0] <= rf / length <= RF_RANGE[1], length


@pytest.mark.parametrize("name", ["modern_tcn_xs", "modern_tcn_s", "modern_tcn_causal_xs"])
def test_presets_receptive_field_fits_the_design_length(name):
    rf = receptive_field(create_model(name, in_chs=9, num_classes=6).config)
    assert RF_RANGE[0] * DESIGN_LENGTH <= rf <= RF_RANGE[1] * DESIGN_LENGTH


@pytest.mark.parametrize("causal", [False, True])
def test_receptive_field_is_what_the_network_sees(causal):
    # without the SE (its gate sees the whole sequence) one output depends on exactly `rf` inputs
    name = "modern_tcn_causal_xs" if causal else "modern_tcn_xs"
    model = randomize_norms(create_model(name, in_chs=3, num_classes=2, hidden=8, rd_ratio=None, large_kernel=9,
                                         dilations=(1, 2))).eval()
    rf = receptive_field(model.config)
    x = torch.randn(1, 3, 200, requires_grad=True)
    model.backbone(x)[0, :, 120].sum().backward()
    seen = torch.nonzero(x.grad.abs().sum(1)[0]).flatten()
    assert int(seen.max() - seen.min()) + 1 == rf
    assert int(seen.max()) == (120 if causal else 120 + (rf - 1) // 2)


def test_physics_targets_by_name():
    # UCI-HAR raw channels: body acceleration + body gyroscope, as the note's X_raw[:, :, :6]
    assert physics_targets(UCI_RAW) == (0, 1, 2, 3, 4, 5)
    # UCI-HAR through the auto spec: body_acc_* stay as extra channels, gyro_* is the gyroscope
    auto = FeatureSpec.for_channels(UCI_RAW, 0.02, units=("g",) * 3 + ("rad/s",) * 3 + ("g",) * 3).names()
    picked = [auto[i] for i in physics_targets(auto)]
    assert picked == ["body_acc_x", "body_acc_y", "body_acc_z", "gyro_x", "gyro_y", "gyro_z"]
    # CMI schema: gravity-free linear acceleration and quaternion-derived angular velocity, not acc/rot
    cmi = FeatureSpec.cmi_default().names()
    picked = [cmi[i] for i in physics_targets(cmi)]
    assert picked == ["linacc_x", "linacc_y", "linacc_z", "angvel_x", "angvel_y", "angvel_z"]
    # the uci_har_default spec has total acceleration only: no target rather than the wrong one
    assert physics_targets(FeatureSpec.uci_har_default().names()) == ()
    assert physics_targets(("acc_x", "acc_y", "acc_z", "rot_w", "rot_x", "rot_y")) == ()


def test_trainer_options_name_the_targets_and_models_follow():
    cmi = FeatureSpec.cmi_default().names()
    options = with_physics_targets("modern_tcn_xs", {"hidden": 16}, cmi)
    model = create_model("modern_tcn_xs", in_chs=len(cmi), num_classes=4, **options)
    assert [cmi[i] for i in model.recon_index] == ["linacc_x", "linacc_y", "linacc_z", "angvel_x", "angvel_y", "angvel_z"]
    assert model.physics_weight > 0
    assert with_physics_targets("mbconv_tcn_xs", {"recon_chs": 2}, cmi) == {"recon_chs": 2}  # the user's choice
    assert with_physics_targets("resnet1d", {}, cmi) == {}  # teachers have no physics head
    none = with_physics_targets("modern_tcn_xs", {}, FeatureSpec.uci_har_default().names())
    assert none == {"recon_chs": 0}
    model = create_model("modern_tcn_xs", in_chs=40, num_classes=6, **none)
    assert model.recon_index == () and model.physics_weight == 0.0
    assert "recon" not in model.forward_train(torch.randn(2, 16, 40))
