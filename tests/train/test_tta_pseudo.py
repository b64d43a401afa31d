"""Test-time views (handedness mirror, sign flip) and pseudo-label rounds that retrain the teachers."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from edgekit.errors import EdgekitError
from edgekit.features import FeatureSpec
from edgekit.models import create_model
from edgekit.train import ensemble as ensemble_mod
from edgekit.train.loop import predict
from edgekit.train.prepare import prepare, prepare_unlabeled
from edgekit.train.run import TrainRequest, train
from edgekit.train.scoring import log_probs
from edgekit.train.stages import PSEUDO_DIR
from edgekit.train.tensors import Arrays, Scaler, SequenceTensors
from edgekit.train.tta import check_tta, predict_views

K, C, L = 4, 5, 24


@pytest.fixture()
def model_and_arrays():
    torch.manual_seed(0)
    model = create_model("wavenet1d", in_chs=C, num_classes=K, chs=8, dilations=[1, 2])
    rng = np.random.default_rng(0)
    mask = np.ones((6, L), bool)
    mask[1, 15:] = mask[4, 7:] = False  # right padding
    x = (rng.normal(size=(6, L, C)) * mask[..., None]).astype(np.float32)
    mirrored = (rng.normal(size=(6, L, C)) * mask[..., None]).astype(np.float32)
    return model, Arrays(x, mask, np.full(6, -1), mirrored)


def plain_logp(model, arrays: Arrays, x: np.ndarray) -> np.ndarray:
    view = Arrays(x, arrays.mask, arrays.labels)
    return log_probs(predict(model, SequenceTensors(view, K, targets=np.zeros((len(x), K), np.float32)), 4,
                             torch.device("cpu"), False))


def test_mirror_tta_averages_the_sequence_and_its_mirror(model_and_arrays):
    model, arrays = model_and_arrays
    got = predict_views(model, arrays, K, 4, torch.device("cpu"), False, tta=("mirror",))
    plain, mirrored = plain_logp(model, arrays, arrays.x), plain_logp(model, arrays, arrays.x_mirrored)
    np.testing.assert_allclose(got, log_probs((plain + mirrored) / 2), rtol=1e-6, atol=1e-6)
    assert not np.allclose(got, plain, atol=1e-4)
    np.testing.assert_allclose(predict_views(model, arrays, K, 4, torch.device("cpu"), False), plain, atol=1e-6)
    with pytest.raises(EdgekitError, match="no mirrored view"):
        predict_views(model, Arrays(arrays.x, arrays.mask, arrays.labels), K, 4, torch.device("cpu"), False,
                      tta=("mirror",))


def test_flip_tta_averages_the_sequence_and_its_sign_flip(model_and_arrays):
    model, arrays = model_and_arrays
    rng = np.random.default_rng(1)
    scaler = Scaler(tuple("abcde"), rng.normal(size=C).astype(np.float32), rng.uniform(0.5, 2, C).astype(np.float32))
    raw = arrays.x * scaler.std + scaler.mean  # the unscaled signal of the real samples
    flipped = ((-raw - scaler.mean) / scaler.std * arrays.mask[..., None]).astype(np.float32)
    got = predict_views(model, arrays, K, 4, torch.device("cpu"), False, tta=("flip",), scaler=scaler)
    expected = log_probs((plain_logp(model, arrays, arrays.x) + plain_logp(model, arrays, flipped)) / 2)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    both = predict_views(model, arrays, K, 4, torch.device("cpu"), False, tta=("mirror", "flip"), scaler=scaler)
    assert both.shape == (6, K) and not np.allclose(both, got, atol=1e-4)


def test_flip_is_refused_on_derived_features():
    check_tta(["flip"], None)
    with pytest.raises(EdgekitError, match="features.preset = 'none'"):
        check_tta(["flip"], FeatureSpec.cmi_default())


@pytest.fixture(scope="module")
def unlabeled_table(tmp_path_factory):
    from edgekit.data.simulator import SimConfig, simulate, write_simulation

    path = tmp_path_factory.mktemp("unl") / "unlabeled.parquet"
    write_simulation(simulate(12, seed=11, config=SimConfig(n_subjects=3)), path)
    return path


class _Stopped(Exception):
    pass


def _pseudo_recipe(make_recipe):
    return make_recipe(teachers={"members": [{"name": "wavenet1d", "options": {"chs": 8, "dilations": [1, 2]}}]},
                       distill={"pseudo_rounds": 1}, student={"epochs": 1})


def test_a_pseudo_round_retrains_every_fold_with_the_extra_sequences_in_training_parts_only(
        make_recipe, unlabeled_table, tmp_path, monkeypatch):
    recipe = _pseudo_recipe(make_recipe)
    fits = []
    real_fit = ensemble_mod.fit

    def recording_fit(model, train_t, cfg, objective, opts, valid=None, **kw):
        fits.append((opts.stage, train_t.x.numpy().copy(), valid.x.numpy().copy()))
        return real_fit(model, train_t, cfg, objective, opts, valid=valid, **kw)

    monkeypatch.setattr(ensemble_mod, "fit", recording_fit)
    out = tmp_path / "run"
    result = train(TrainRequest(recipe, out=out, unlabeled=unlabeled_table))
    data = prepare(recipe)
    unl = prepare_unlabeled(unlabeled_table, recipe, data)
    assert [stage for stage, _, _ in fits] == ["round 0/1 wavenet1d fold 1/2", "round 0/1 wavenet1d fold 2/2",
                                               "round 1/1 wavenet1d fold 1/2", "round 1/1 wavenet1d fold 2/2"]
    rows = lambda x: {a.tobytes() for a in x}  # noqa: E731
    for (stage, train_x, valid_x), (tr, va) in zip(fits, data.folds * 2):
        np.testing.assert_array_equal(valid_x, data.train.x[va][:, :valid_x.shape[1]])  # validation part untouched
        extra = len(unl) if stage.startswith("round 1") else 0
        assert len(train_x) == len(tr) + extra
        np.testing.assert_array_equal(train_x[:len(tr)], data.train.x[tr][:, :train_x.shape[1]])
        assert rows(train_x[len(tr):]) == (rows(unl.x[:, :train_x.shape[1]]) if extra else set())
        assert not rows(train_x) & rows(data.train.x[va][:, :train_x.shape[1]])

    first = out / PSEUDO_DIR / "round0"
    round0 = json.loads((first / "teachers" / "ensemble.json").read_text())["fingerprint"]
    final = json.loads((out / "teachers" / "ensemble.json").read_text())["fingerprint"]
    stage = json.loads((out / "teachers" / "wavenet1d" / "fold0" / "stage.json").read_text())["inputs"]
    assert stage["pseudo_round"] == 1 and stage["pseudo_labels"]["teachers_fingerprint"] == round0
    assert "pseudo_round" not in json.loads((first / "teachers" / "wavenet1d" / "fold0" / "stage.json").read_text())["inputs"]
    assert json.loads((out / "teachers" / "wavenet1d" / "fold1" / "done.json").read_text())["pseudo_labelled"] == len(unl)
    assert json.loads((out / "data.json").read_text())["teacher_fingerprint"] == final
    assert result["teachers"]["pseudo_rounds"][0]["pseudo_labelled"] == len(unl)
    assert result["student"]["pseudo_labelled"] == len(unl)

    # stopped in round 1, then resumed: round 0 is reused, round 1 continues, the result is the same
    stopped, seen = tmp_path / "stopped", []

    def stop_in_round_1(p):
        if p.kind == "epoch":
            seen.append(p.stage)
            if p.stage.startswith("round 1"):
                raise _Stopped(p.stage)

    with pytest.raises(_Stopped):
        train(TrainRequest(recipe, out=stopped, unlabeled=unlabeled_table), on_progress=stop_in_round_1)
    done0 = stopped / PSEUDO_DIR / "round0" / "teachers" / "wavenet1d" / "fold1" / "done.json"
    before = done0.stat().st_mtime_ns
    resumed_stages = []
    again = train(TrainRequest(recipe, out=stopped, unlabeled=unlabeled_table, resume=True),
                  on_progress=lambda p: resumed_stages.append(p.stage) if p.kind == "epoch" else None)
    assert done0.stat().st_mtime_ns == before
    assert resumed_stages and not any(s.startswith("round 0") for s in resumed_stages)
    assert again["student"]["test"] == result["student"]["test"]
    np.testing.assert_array_equal(np.load(stopped / "teachers" / "oof_logits.npy"), np.load(out / "teachers" / "oof_logits.npy"))


def test_pseudo_rounds_need_unlabelled_data_and_trained_teachers(make_recipe, tmp_path):
    recipe = _pseudo_recipe(make_recipe)
    with pytest.raises(EdgekitError, match="needs --unlabeled"):
        train(TrainRequest(recipe, out=tmp_path / "a"))
    assert not (tmp_path / "a").exists()
