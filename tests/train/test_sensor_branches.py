"""Sensor branches with the feature pipeline: the teachers' IMU | thermopile | ToF layout derived
from the FeatureSpec (the model keeps the spec's input order, in torch and in ONNX), modality
dropout, and the IMU-only / full-sensor test scores on simulator data."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from edgekit.errors import EdgekitError
from edgekit.features import FeatureSpec, RawPassthrough
from edgekit.models.layers.modality import IMU, THM, TOF
from edgekit.models.registry import create_model
from edgekit.rundir import load_model, save_model
from edgekit.train.augment import AugmentConfig, Augmenter
from edgekit.train.config import ModelConfig
from edgekit.train.modalities import layout_for_spec, resolve_layouts, sensor_fill
from edgekit.train.prepare import prepare
from edgekit.train.recipe import model_options
from edgekit.train.scoring import FULL_SENSOR_SPLIT, IMU_ONLY_SPLIT
from edgekit.train.tensors import Scaler

SPEC = FeatureSpec.cmi_default()
TINY_WAVENET = {"chs": 8, "dilations": [1, 2], "drop": 0.0}


def _identity_scaler(spec: FeatureSpec) -> Scaler:
    n = len(spec.names())
    return Scaler(spec.names(), np.zeros(n, np.float32), np.ones(n, np.float32))


# ---------------------------------------------------------------- the layout from the spec


@pytest.mark.parametrize("pixels", [False, True], ids=["aggregates", "raw_pixels"])
def test_layout_from_the_spec_puts_every_output_in_its_branch(pixels):
    spec = SPEC.with_families(raw=RawPassthrough(tof_pixels=True)) if pixels else SPEC
    names, modality = spec.names(), dict(zip(spec.names(), spec.modalities()))
    assert modality["acc_x"] == modality["linacc_mag_roll20_std"] == modality["acc_mag_jerk"] == IMU
    assert modality["thm_3"] == modality["thm_3_missing"] == modality["thm_valid"] == THM
    assert modality["tof_2_mean"] == modality["tof_5_valid"] == TOF
    # the case the old layout could not take: derived IMU features come after the ToF ones
    assert names.index("acc_mag_roll5_mean") > names.index("tof_5_valid")

    layout = layout_for_spec(spec)
    counts = Counter(spec.modalities())
    assert (layout.imu_chs, layout.thm_chs) == (counts[IMU], counts[THM])
    assert layout.tof_sensors * 64 + layout.tof_chs == counts[TOF]
    assert (layout.tof_sensors, layout.tof_chs) == ((5, 25) if pixels else (0, 25))
    assert layout.channel_branches() == spec.modalities()  # every input channel reaches its own branch
    layout.validate(len(names))


def test_a_mixed_thermopile_and_imu_feature_goes_with_the_thermopiles():
    from edgekit.features import Correlation

    spec = SPEC.with_families(correlation=Correlation((("acc_mag", "thm_mean"), ("thm_mean", "acc_x")), (20,)))
    modality = dict(zip(spec.names(), spec.modalities()))
    assert modality["acc_mag_thm_mean_corr20"] == modality["thm_mean_acc_x_corr20"] == THM


# ---------------------------------------------------------------- a branch teacher in spec order


def test_branch_teacher_trains_a_step_and_exports_in_the_specs_input_order(tmp_path):
    from edgekit.export import names as io_names
    from edgekit.export.onnx import export_onnx, onnx_session

    members = [ModelConfig("wavenet1d", {**TINY_WAVENET, "layout": "spec"})]
    resolve_layouts(members, SPEC)  # what prepare does with a recipe's `layout = "spec"`
    options = model_options("wavenet1d", members[0].options)
    in_chs = len(SPEC.names())
    torch.manual_seed(0)
    model = create_model("wavenet1d", in_chs=in_chs, num_classes=4, **options)
    x = torch.randn(6, 16, in_chs)
    mask = torch.ones(6, 16, dtype=torch.bool)
    mask[1, 11:] = False
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    loss = F.cross_entropy(model.forward_train(x, mask)["logits"], torch.arange(6) % 4)
    loss.backward()
    optimizer.step()
    assert torch.isfinite(loss)

    # saved and rebuilt the way exports load it: model.json holds the resolved layout
    save_model(tmp_path, model, "wavenet1d", {"in_chs": in_chs, "num_classes": 4, **options})
    model = load_model(tmp_path)
    with torch.no_grad():  # the spec's ToF outputs reach the ToF branch only, wherever they sit
        tof = torch.tensor([m == TOF for m in SPEC.modalities()])
        imu_after_tof = SPEC.names().index("acc_mag_roll5_mean")
        absent_tof = torch.tensor([[True, False]] * 6)
        ref = model(x, mask, modality_mask=absent_tof)
        assert torch.equal(model(torch.where(tof, x + 3.0, x), mask, modality_mask=absent_tof), ref)
        moved = x.clone()
        moved[..., imu_after_tof] += 3.0
        assert (model(moved, mask, modality_mask=absent_tof) - ref).abs().max() > 1e-4

    result = export_onnx(model, tmp_path / "teacher.onnx", in_chs=in_chs, length=16)
    session = onnx_session(result.path)
    assert session.get_inputs()[0].shape[-1] == in_chs  # the spec's features, in the spec's order
    (got,) = session.run([io_names.OUTPUT], {io_names.INPUT: x[:2].numpy()})
    with torch.no_grad():
        np.testing.assert_allclose(got, model(x[:2]).numpy(), atol=1e-4)


def test_layout_spec_without_a_feature_spec_is_refused():
    with pytest.raises(EdgekitError, match=r"teachers.members.0.options.layout = 'spec'.*features.preset = 'none'"):
        resolve_layouts([ModelConfig("wavenet1d", {"layout": "spec"})], None)


# ---------------------------------------------------------------- modality dropout


def _sensor_batch():
    fill = sensor_fill(SPEC, SPEC.names(), _identity_scaler(SPEC))
    sensors = torch.from_numpy(np.isfinite(fill))
    lengths = torch.tensor([16, 12, 5, 1])
    mask = torch.arange(16)[None, :] < lengths[:, None]
    x = torch.randn(4, 16, len(fill), generator=torch.Generator().manual_seed(0)) * mask.unsqueeze(-1)
    return x, mask, F.one_hot(torch.arange(4), 4).float(), torch.from_numpy(fill), sensors


def test_modality_dropout_drops_whole_sequences_thermopile_and_tof():
    x, mask, target, fill, sensors = _sensor_batch()
    assert int(sensors.sum()) == 40  # 15 thermopile + 25 ToF outputs of cmi_default

    dropped, mask_out, target_out, _ = Augmenter(AugmentConfig(modality_dropout_p=1.0), torch.Generator().manual_seed(1),
                                                 sensor_fill=fill)(x, mask, target)
    assert torch.equal(mask_out, mask) and torch.equal(target_out, target)
    real = mask.unsqueeze(-1)
    assert torch.equal(dropped[..., ~sensors], x[..., ~sensors])  # the IMU untouched
    want = torch.where(real, fill[sensors], torch.zeros(()))  # every real step holds the fill; padding stays 0
    assert torch.equal(dropped[..., sensors], want.expand(-1, -1, int(sensors.sum())))

    rng = torch.Generator().manual_seed(1)
    state = rng.get_state()
    kept, *_ = Augmenter(AugmentConfig(modality_dropout_p=0.0), rng, sensor_fill=fill)(x, mask, target)
    assert torch.equal(kept, x)
    assert torch.equal(rng.get_state(), state)  # off draws nothing: other augmentations' draws are as before

    half, *_ = Augmenter(AugmentConfig(modality_dropout_p=0.5), torch.Generator().manual_seed(3),
                         sensor_fill=fill)(x, mask, target)
    per_sequence = [torch.equal(half[i][..., sensors], dropped[i][..., sensors]) for i in range(4)]
    assert all(p or torch.equal(half[i], x[i]) for i, p in enumerate(per_sequence))  # a whole sequence, or nothing


def test_modality_dropout_needs_sensor_channels():
    x, mask, target, fill, _ = _sensor_batch()
    with pytest.raises(EdgekitError, match="modality_dropout_p > 0"):
        Augmenter(AugmentConfig(modality_dropout_p=0.5))(x, mask, target)
    uci = FeatureSpec.uci_har_default()
    assert sensor_fill(uci, uci.names(), _identity_scaler(uci)) is None
    with pytest.raises(EdgekitError, match="these features have none"):
        sensor_fill(uci, uci.names(), _identity_scaler(uci), required=True)


# ---------------------------------------------------------------- IMU-only and full-sensor scores


def test_dropout_fill_is_what_recorded_imu_only_sequences_look_like(make_recipe):
    data = prepare(make_recipe(train={"augment": {"modality_dropout_p": 0.5}}), needs_folds=False)
    test, imu_only, full = data.tests["test"], data.tests[IMU_ONLY_SPLIT], data.tests[FULL_SENSOR_SPLIT]
    assert len(imu_only) == len(test) and np.array_equal(imu_only.labels, test.labels)
    assert 0 < len(full) < len(test)  # the simulator makes some sequences IMU-only
    sensors = np.isfinite(data.sensor_fill)
    steps = imu_only.x[imu_only.mask]
    np.testing.assert_array_equal(steps[:, sensors], np.broadcast_to(data.sensor_fill[sensors], steps[:, sensors].shape))
    np.testing.assert_array_equal(steps[:, ~sensors], test.x[test.mask][:, ~sensors])  # the IMU as recorded


def test_reports_have_imu_only_and_full_sensor_scores(make_recipe, tmp_path):
    from edgekit.train.run import TrainRequest, train

    recipe = make_recipe(teachers={"members": [{"name": "wavenet1d", "options": {**TINY_WAVENET, "layout": "spec"}}]},
                         train={"epochs": 1, "max_steps": 2, "augment": {}})
    metrics = train(TrainRequest(recipe, out=tmp_path / "run"))
    for tests in (metrics["student"]["test"], metrics["teachers"]["test"]):
        assert {"test", IMU_ONLY_SPLIT, FULL_SENSOR_SPLIT} <= set(tests)
    for split in (IMU_ONLY_SPLIT, FULL_SENSOR_SPLIT):
        assert 0.0 <= metrics["student"]["test"][split]["cmi_score"] <= 1.0
        assert "cmi_score" in metrics["teachers"]["test"][split]["stacked"]
    layout = load_model(tmp_path / "run" / "teachers" / "wavenet1d" / "fold0").layout
    assert layout == replace(layout_for_spec(SPEC), demo_chs=layout.demo_chs)  # built from the spec
