"""`edgekit train DATA` with no recipe: --print-recipe, a tiny end-to-end run that exports, and a
long table read through --*-col flags."""

from __future__ import annotations

import json
import tomllib

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from edgekit.cli import main
from edgekit.train.recipe import load_recipe, recipe_from_dict, recipe_to_dict


@pytest.fixture(autouse=True)
def one_torch_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture()
def basic_motions(shared_data):
    return shared_data / "uea" / "BasicMotions_TRAIN.ts"


def test_print_recipe_prints_a_valid_recipe_with_its_reasons_and_exits(basic_motions, tmp_path):
    result = _run("train", basic_motions, "--print-recipe", "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert "# length: 100" in result.output and "# batch 8" in result.output  # the reasons, as comments
    recipe = recipe_from_dict(tomllib.loads(result.output))
    assert recipe.data.source == str(basic_motions) and recipe.train.batch_size == 8
    assert not (tmp_path / "run").exists()  # printed, nothing trained
    saved = tmp_path / "recipe.toml"
    saved.write_text(result.output)
    again = _run("train", "--recipe", saved, "--print-recipe")
    assert again.exit_code == 0, again.output
    assert recipe_to_dict(recipe_from_dict(tomllib.loads(again.output))) == recipe_to_dict(recipe)


def test_zero_config_train_then_export_int8(basic_motions, tmp_path):
    run = tmp_path / "run"
    result = _run("train", basic_motions, "--teacher", "none", "--out", run, "--json",
                  "student.max_steps=6", "device.threads=1")
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output)
    assert metrics["student"]["test"]["test"]["accuracy"] >= 0  # scored on BasicMotions_TEST.ts
    saved = load_recipe(run / "recipe.toml")  # the derived recipe, to edit and rerun with --recipe
    assert saved.data.length == 100 and saved.student.max_steps == 6
    # six steps leave a near-chance model whose INT8 accuracy may move by a test window: the
    # export chain is what is checked here, not the tolerance
    exported = _run("export", run, "--int8", "--allow-drift", "--json")
    assert exported.exit_code == 0, exported.output
    assert (run / "export" / "student.int8.onnx").is_file()


@pytest.fixture()
def custom_table(tmp_path):
    """A long table with its own column names and an integer sample counter."""
    rng = np.random.default_rng(0)
    rows = [{"rec": f"r{i:02d}", "person": f"p{i % 6}", "activity": ("walk", "rest", "run")[i % 3], "n": t,
             "ax": rng.normal(), "ay": rng.normal(), "az": 9.8 + rng.normal()}
            for i in range(24) for t in range(int(rng.integers(30, 50)))]
    path = tmp_path / "table.csv"
    pl.DataFrame(rows).write_csv(path)
    return path


def test_long_table_with_custom_column_names(custom_table):
    from edgekit.train.prepare import prepare

    flags = ["--sequence-col", "rec", "--subject-col", "person", "--label-col", "activity", "--time-col", "n"]
    missing_rate = _run("train", custom_table, *flags, "--print-recipe")
    assert missing_rate.exit_code == 2 and "data.sample_rate_hz" in missing_rate.output  # a counter has no time
    result = _run("train", custom_table, *flags, "data.sample_rate_hz=20", "--print-recipe")
    assert result.exit_code == 0, result.output
    recipe = recipe_from_dict(tomllib.loads(result.output))
    columns = recipe.data.columns
    assert (columns.sequence, columns.subject, columns.label, columns.time) == ("rec", "person", "activity", "n")
    assert recipe.data.sample_rate_hz == 20
    prepared = prepare(recipe)  # what training reads, through the recipe's [data.columns]
    assert prepared.class_names == ("rest", "run", "walk") and prepared.channels == ("ax", "ay", "az")
    assert prepared.spec is None  # ax/ay/az are not recognised roles: raw channels
    assert len(prepared.train) + len(prepared.tests["test"]) == 24


def test_column_flags_apply_to_a_recipe_too(custom_table, tmp_path):
    recipe = tmp_path / "r.toml"
    recipe.write_text('[data]\nsample_rate_hz = 20\n')
    result = _run("train", custom_table, "--recipe", recipe, "--sequence-col", "rec", "--subject-col", "",
                  "--label-col", "activity", "--time-col", "n", "--print-recipe")
    assert result.exit_code == 0, result.output
    data = tomllib.loads(result.output)["data"]
    assert data["source"] == str(custom_table) and data["columns"]["subject"] == ""


def test_no_data_and_no_recipe_is_a_usage_error():
    result = _run("train")
    assert result.exit_code == 2 and "give DATA" in result.output
    not_a_table = _run("train", "simulator", "--sequence-col", "rec", "--print-recipe")
    assert not_a_table.exit_code == 2 and "long table" in not_a_table.output
