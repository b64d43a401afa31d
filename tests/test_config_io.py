"""`edgekit.config_io`: the one way configs are read, checked and written, and model.json options."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass

import pytest

from edgekit.config_io import ConfigError, parse, to_plain, to_toml
from edgekit.train.augment import AugmentConfig
from edgekit.train.schedule import OptimConfig, OptimName


def test_code_built_configs_are_held_to_the_same_field_ranges():
    cfg = OptimConfig(name="schedule_free", betas=[0.8, 0.9])  # lax in code: Enum by value, list for tuple
    assert cfg.name is OptimName.SCHEDULE_FREE and cfg.betas == (0.8, 0.9)
    with pytest.raises(ConfigError, match=r"OptimConfig: betas.1: expected a number in \[0, 1\), got 1.0"):
        OptimConfig(betas=(0.9, 1.0))
    with pytest.raises(ConfigError, match="AugmentConfig: shift_max: expected an integer >= 0, got -1"):
        AugmentConfig(shift_max=-1)


def test_parse_is_strict_and_names_dotted_keys():
    assert parse(tuple[int, ...], [1, 2]) == (1, 2)
    with pytest.raises(ConfigError, match=r"where: 1: expected an integer, got '2'"):
        parse(tuple[int, ...], [1, "2"], "where")
    with pytest.raises(ConfigError, match=r"opts.0: expected true or false, got 1"):
        parse(list[bool], [1], key="opts")


def test_a_root_dataclass_must_forbid_unknown_keys():
    @dataclass
    class Loose:
        a: int = 1

    with pytest.raises(TypeError, match="with_config"):
        parse(Loose, {"a": 2})


def test_to_toml_leaves_out_none_and_quotes_any_key():
    data = {"name": "x", "gone": None, "t": {"größe": 1, "none": None, "list": [{"a": 1}]}}
    text = to_toml(data, header="line one\nline two")
    assert text.startswith("# line one\n# line two\n")
    assert tomllib.loads(text) == {"name": "x", "t": {"größe": 1, "list": [{"a": 1}]}}


def test_saved_model_options_are_plain_json_and_load_back(tmp_path):
    import torch

    from edgekit.models import create_model
    from edgekit.models.teachers.resnet1d import ResNetStage
    from edgekit.rundir import load_model, save_model

    options = {"in_chs": 4, "num_classes": 3, "stem_chs": 8, "stages": (ResNetStage(8, 1, 1), ResNetStage(16, 1, 2))}
    torch.manual_seed(0)
    model = create_model("resnet1d", **options).eval()
    save_model(tmp_path, model, "resnet1d", options)
    saved = json.loads((tmp_path / "model.json").read_text())["options"]
    assert saved["stages"][1] == to_plain(ResNetStage(16, 1, 2)) and "__dataclass__" not in json.dumps(saved)
    again = load_model(tmp_path)
    x = torch.randn(2, 20, 4)
    torch.testing.assert_close(again(x), model(x))


def test_saved_models_record_every_builder_default_and_load_back(tmp_path):
    """model.json holds the builder's resolved defaults (a student's whole preset config), and they
    parse back for every registered model."""
    import inspect

    import torch

    from edgekit.models import create_model, list_models
    from edgekit.models.registry import get_entry
    from edgekit.rundir import load_model, save_model

    for name in list_models():
        options = {"in_chs": 6, "num_classes": 3}
        torch.manual_seed(0)
        model = create_model(name, **options).eval()
        save_model(tmp_path / name, model, name, options)
        saved = json.loads((tmp_path / name / "model.json").read_text())["options"]
        params = inspect.signature(get_entry(name).builder).parameters
        named = [k for k, p in params.items() if p.kind is not inspect.Parameter.VAR_KEYWORD]
        assert list(saved)[:len(named)] == named, name
        if len(named) < len(params):  # a student: its preset config, whole
            assert set(saved) - set(named) == {f for f in model.config.__dataclass_fields__}, name
        again = load_model(tmp_path / name)
        assert again.state_dict().keys() == model.state_dict().keys(), name


def test_a_saved_model_rebuilds_as_trained_after_its_defaults_change(tmp_path, monkeypatch):
    import dataclasses

    import torch

    from edgekit.models import create_model
    from edgekit.models.registry import get_entry
    from edgekit.models.students import mbconv_tcn
    from edgekit.rundir import load_model, save_model

    x = torch.randn(2, 24, 6)
    for name, change in (("mbconv_tcn_xs", lambda: monkeypatch.setattr(
            mbconv_tcn, "_XS", dataclasses.replace(mbconv_tcn._XS, stem_chs=8))),
            ("squeezeformer", lambda: monkeypatch.setattr(
                get_entry("squeezeformer").builder, "__defaults__",
                tuple(0 if p.name == "bert_layers" else p.default for p in inspect_defaults("squeezeformer"))))):
        options = {"in_chs": 6, "num_classes": 3, **({"d_model": 32, "num_heads": 4, "d_ff": 64, "layers": 1}
                                                     if name == "squeezeformer" else {})}
        torch.manual_seed(0)
        model = create_model(name, **options).eval()
        save_model(tmp_path / name, model, name, options)
        change()  # a later edgekit's default differs
        shapes = {k: v.shape for k, v in model.state_dict().items()}
        assert {k: v.shape for k, v in create_model(name, **options).state_dict().items()} != shapes  # the premise
        torch.testing.assert_close(load_model(tmp_path / name)(x), model(x))


def inspect_defaults(name: str):
    import inspect

    from edgekit.models.registry import get_entry

    return [p for p in inspect.signature(get_entry(name).builder).parameters.values()
            if p.default is not inspect.Parameter.empty]


def test_recipe_lists_become_the_tuples_a_builder_asks_for():
    from edgekit.models import create_model
    from edgekit.train.recipe import model_options

    options = model_options("unet_se_wave_gru", {"unet_chs": [16, 32], "stem_chs": 16, "wave_chs": 8, "gru_hidden": 8,
                                                 "head_chs": 8})
    assert options["unet_chs"] == (16, 32)  # the U-Net concatenates tuples: a list crashed it
    create_model("unet_se_wave_gru", in_chs=4, num_classes=3, **options)
