"""Per-sequence demographics: from the simulator's table to the teachers' forward (training and
prediction), normalised on training rows only, blended by mixup with the labels' λ, exported as a
second ONNX input (normalisation folded in) and fed once per stream by `edgekit stream --demographics`.
`data.demographics = "none"` is the behaviour without them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch

from edgekit.train.recipe import recipe_from_dict
from tests.train.conftest import tiny_recipe

COLUMNS = ("adult_child", "age", "sex", "handedness", "height_cm", "shoulder_to_wrist_cm", "elbow_to_wrist_cm")
ONE_TEACHER = [{"name": "wavenet1d", "options": {"chs": 8, "dilations": [1, 2], "drop": 0.0}}]


def _recipe(sim_table: Path, demographics: str = "auto"):
    return recipe_from_dict(tiny_recipe(
        sim_table, data={"demographics": demographics},
        teachers={"folds": 2, "members": ONE_TEACHER, "max_steps": 2}, student={"max_steps": 2}))


@pytest.fixture(scope="module")
def demo_run(sim_table, tmp_path_factory):
    """A tiny run with demographics (one teacher × 2 folds, 2 steps each), the demographics each
    module's forward received (spied), and the teacher ensemble exported to ONNX."""
    from edgekit.export.teachers import export_teacher_ensemble
    from edgekit.models.layers.modality import DemographicsEmbedding
    from edgekit.train.run import TrainRequest, train

    seen: list[tuple[bool, tuple | None]] = []
    original = DemographicsEmbedding.forward

    def spy(self, pooled, demographics=None):
        seen.append((self.training, None if demographics is None else tuple(demographics.shape)))
        return original(self, pooled, demographics)

    root = tmp_path_factory.mktemp("demographics")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(DemographicsEmbedding, "forward", spy)
        mp.setattr("edgekit.models.count_macs", lambda *args: 0)  # a cost count: no demographics, not spied
        mp.setattr("edgekit.train.run._plots", lambda *args: None)  # matplotlib: seconds, nothing tested here
        train(TrainRequest(_recipe(sim_table), out=root / "run"))
    report = export_teacher_ensemble(root / "run", root / "teachers.fp32.onnx", parity_windows=3)
    return root, seen, report


def test_demographics_reach_the_teachers_in_training_and_prediction(demo_run):
    root, seen, _ = demo_run
    assert any(training for training, _ in seen) and any(not training for training, _ in seen)
    # every teacher forward (training steps, validation, OOF/test predictions) got (B, 7) demographics
    assert all(shape is not None and shape[1] == len(COLUMNS) for _, shape in seen)
    options = json.loads((root / "run" / "teachers" / "wavenet1d" / "fold0" / "model.json").read_text())["options"]
    assert options["layout"]["demo_chs"] == len(COLUMNS)
    assert json.loads((root / "run" / "scaler.json").read_text())["demographics"]["channels"] == list(COLUMNS)
    student = json.loads((root / "run" / "student" / "model.json").read_text())["options"]
    assert "layout" not in student  # students take none


def test_normalisation_uses_training_statistics_only(sim_table):
    from edgekit.data.folds import holdout_subjects
    from edgekit.data.load import load_dataset
    from edgekit.train.demographics import raw_rows
    from edgekit.train.prepare import prepare

    recipe = _recipe(sim_table)
    data = prepare(recipe, needs_folds=False)
    ds = load_dataset(sim_table)
    tr, _ = holdout_subjects(ds.labels, ds.subjects, recipe.data.holdout_subjects, recipe.seed)
    train_rows, all_rows = raw_rows(ds.subset(tr), COLUMNS), raw_rows(ds, COLUMNS)
    demo = data.scaler.demographics
    assert demo.channels == COLUMNS
    np.testing.assert_allclose(demo.mean, train_rows.mean(0), rtol=1e-5)
    assert not np.allclose(demo.mean, all_rows.mean(0), rtol=1e-3)  # the held-out subjects are left out
    np.testing.assert_allclose(data.train.demographics, (train_rows - demo.mean) / demo.std, rtol=1e-4, atol=1e-5)
    test_rows = raw_rows(ds.subset(np.setdiff1d(np.arange(len(ds)), tr)), COLUMNS)
    np.testing.assert_allclose(data.tests["test"].demographics, (test_rows - demo.mean) / demo.std,
                               rtol=1e-4, atol=1e-4)


def test_unknown_subjects_get_the_training_mean(sim_table):
    from edgekit.data.load import load_dataset
    from edgekit.train.demographics import fit_scaler, scaled_rows
    from edgekit.train.tensors import Scaler

    ds = load_dataset(sim_table)
    scaler = Scaler(("x",), np.zeros(1, np.float32), np.ones(1, np.float32), fit_scaler(ds))
    stranger = ds.subset(np.arange(3))
    stranger.subjects = np.array(["nobody"] * 3)
    assert np.array_equal(scaled_rows(stranger, scaler), np.zeros((3, len(COLUMNS)), np.float32))


def test_mixup_blends_demographics_with_the_labels_lambda():
    from edgekit.train.augment import AugmentConfig, Augmenter
    from edgekit.train.loop import _augmented

    b, k = 6, 6
    gen = torch.Generator().manual_seed(0)
    demo = torch.randn(b, len(COLUMNS), generator=gen)
    batch = {"x": torch.randn(b, 10, 3, generator=gen), "mask": torch.ones(b, 10, dtype=torch.bool),
             "target": torch.eye(k), "demographics": demo}
    augmenter = Augmenter(AugmentConfig(mixup_p=1.0), torch.Generator().manual_seed(1))
    _, _, target, _, _, mixed = _augmented(batch, augmenter, (), torch.device("cpu"))
    blended = 0
    for i in range(b):
        lam = target[i, i]
        partner = int(torch.argmax(target[i] - torch.eye(k)[i] * 2))  # the other class in the blend
        expected = lam * demo[i] + (1 - lam) * demo[partner] if lam < 1 else demo[i]
        torch.testing.assert_close(mixed[i], expected)
        blended += int(0 < lam < 1)
    assert blended >= b // 2


def test_exported_teacher_takes_demographics_and_matches_torch(demo_run):
    from edgekit.export import names
    from edgekit.export.normalize import Normalized
    from edgekit.export.teachers import load_teachers
    from edgekit.runtime.session import ModelSession
    from edgekit.train.tensors import Scaler

    root, _, report = demo_run
    assert report["demographics"] == list(COLUMNS)
    session = ModelSession(root / "teachers.fp32.onnx")
    assert session.metadata.inputs == (names.INPUT, names.DEMOGRAPHICS) and session.demographics == COLUMNS
    scaler = Scaler.load(root / "run" / "scaler.json")
    torch_model = Normalized(load_teachers(root / "run")[0], scaler).eval()
    rng = np.random.default_rng(0)
    x = (scaler.mean + scaler.std * rng.standard_normal((3, 20, len(scaler.mean)))).astype(np.float32)
    d = np.array([[1, 30, 0, 1, 170, 53, 26], [0, 12, 1, 0, 150, 47, 23], [np.nan] * 7], np.float32)
    with torch.no_grad():
        want = torch_model(torch.from_numpy(x), demographics=torch.from_numpy(d)).numpy()
        at_mean = torch_model(torch.from_numpy(x[2:]), demographics=torch.from_numpy(scaler.demographics.mean[None]))
    got = session.run(x, demographics=d)
    np.testing.assert_allclose(got, want, atol=1e-4)
    np.testing.assert_allclose(got[2:], at_mean.numpy(), atol=1e-4)  # unknown = the training mean
    assert not np.allclose(got[0], session.run(x[:1], demographics=d[1:2])[0], atol=1e-6)  # they matter


def test_stream_cli_demographics(demo_run, sim_table, tmp_path):
    from click.testing import CliRunner

    from edgekit.cli import main

    root, _, _ = demo_run
    model = str(root / "teachers.fp32.onnx")
    table = pl.read_parquet(sim_table)
    first = table.get_column("sequence_id").unique(maintain_order=True)[0]
    one = tmp_path / "one.parquet"
    table.filter(pl.col("sequence_id") == first).write_parquet(one)
    given = "adult_child=0,age=12,sex=1,handedness=1,height_cm=150,shoulder_to_wrist_cm=47,elbow_to_wrist_cm=23"
    ok = CliRunner().invoke(main, ["stream", model, "--input", str(one), "--demographics", given, "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output.strip().splitlines()[-1])["predictions"] > 0

    missing = CliRunner().invoke(main, ["stream", model, "--input", str(one)])
    assert missing.exit_code == 2
    assert "missing adult_child, age, sex, handedness, height_cm" in missing.output
    assert len(missing.output.strip().splitlines()) == 1
    partial = CliRunner().invoke(main, ["stream", model, "--input", str(one), "--demographics", "age=12,sex=1"])
    assert partial.exit_code == 2 and "missing adult_child, handedness, height_cm" in partial.output
    unknown = CliRunner().invoke(main, ["stream", model, "--input", str(one), "--demographics", given + ",weight=40"])
    assert unknown.exit_code == 2
    assert "unknown demographics weight; the model expects adult_child, age, sex" in unknown.output
    clash = CliRunner().invoke(main, ["stream", model, "--input", str(one), "--demographics", given,
                                      "--handedness", "0"])
    assert clash.exit_code == 2 and "--handedness 0 but --demographics handedness=1" in clash.output


def test_none_is_the_behaviour_without_demographics(sim_table):
    from edgekit.train.ensemble import _member_options
    from edgekit.train.prepare import prepare
    from edgekit.train.recipe import model_options
    from edgekit.train.tensors import SequenceTensors

    with_demo = prepare(_recipe(sim_table), needs_folds=False)
    without = prepare(_recipe(sim_table, "none"), needs_folds=False)
    assert without.scaler.demographics is None and set(without.scaler.to_dict()) == {"channels", "mean", "std"}
    assert without.train.demographics is None and "demographics" not in without.info
    assert all(a.demographics is None for a in without.tests.values())
    assert "demographics" not in SequenceTensors(without.train, without.num_classes)[[0, 1]]
    # the features and their scaler are those of the run with demographics
    assert np.array_equal(without.train.x, with_demo.train.x)
    assert without.scaler.to_dict() == {k: v for k, v in with_demo.scaler.to_dict().items() if k != "demographics"}
    member = _recipe(sim_table).teachers.members[0]
    assert _member_options(member, without) == model_options(member.name, member.options)
    assert _member_options(member, with_demo)["layout"].demo_chs == len(COLUMNS)
