"""Parameter and MAC counting, the model table and `edgekit models list`."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from torch import nn

from edgekit.cli.models import models as models_cli
from edgekit.models.costs import count_macs, count_params, count_step_macs
from edgekit.models.registry import list_models

from zoo_helpers import IN_CHS, build


def test_count_params_counts_every_parameter():
    layer = nn.Conv1d(4, 8, 3)
    assert count_params(layer) == 4 * 8 * 3 + 8


def test_conv_macs_match_the_formula():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv1d(4, 8, 3, padding=1)

        def forward(self, x):
            return self.conv(x.transpose(1, 2))

    assert count_macs(Net(), 4, 50) == 50 * 8 * 4 * 3


class _Wrap(nn.Module):
    def __init__(self, layer: nn.Module, call):
        super().__init__()
        self.layer, self.call = layer, call

    def forward(self, x):
        return self.call(self.layer, x)


@pytest.mark.parametrize("kind, gates", [("gru", 3), ("lstm", 4)])
def test_recurrent_macs_are_counted(kind, gates):
    rnn = (nn.GRU if kind == "gru" else nn.LSTM)(16, 32, batch_first=True, bidirectional=True)
    model = _Wrap(rnn, lambda m, x: m(x)[0])
    assert count_macs(model, 16, 50) == 2 * 50 * gates * 32 * (16 + 32)


def test_attention_macs_are_counted():
    mha = nn.MultiheadAttention(32, 4, batch_first=True)
    model = _Wrap(mha, lambda m, x: m(x, x, x, need_weights=False)[0])
    projections, attention = 4 * 50 * 32 * 32, 2 * 50 * 50 * 32
    assert count_macs(model, 32, 50) == projections + attention
    sdpa = _Wrap(nn.Linear(32, 32), lambda m, x: nn.functional.scaled_dot_product_attention(*[m(x)[:, None]] * 3))
    assert count_macs(sdpa, 32, 50) == 50 * 32 * 32 + attention


@pytest.mark.parametrize("name", list_models(kind="student"))
def test_student_macs_scale_linearly_with_length(name):
    model = build(name)
    short, long = count_macs(model, IN_CHS, 64), count_macs(model, IN_CHS, 128)
    assert 1.8 < long / short <= 2.0


@pytest.mark.parametrize("name", list_models(streamable=True))
def test_step_macs_times_length_equal_window_macs(name):
    model = build(name)
    assert count_step_macs(model, IN_CHS) * 40 == count_macs(model, IN_CHS, 40)


def test_step_macs_need_a_streamable_model():
    with pytest.raises(TypeError, match="not streamable"):
        count_step_macs(build("modern_tcn_xs"), IN_CHS)


def test_counting_leaves_training_mode_alone():
    model = build("mbconv_tcn_xs").train()
    count_macs(model, IN_CHS, 16)
    assert model.training


def test_models_list_json():
    result = CliRunner().invoke(models_cli, ["list", "--length", "16", "--in-chs", "8", "--classes", "3", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["name"] for r in rows] == list_models()
    for row in rows:
        assert row["params"] > 0 and row["macs_per_window"] > 0
        assert (row["macs_per_step"] is not None) == row["streamable"]
        assert row["kind"] in ("teacher", "student")


def test_models_list_table():
    result = CliRunner().invoke(models_cli, ["list", "--length", "16", "--in-chs", "8", "--classes", "3"])
    assert result.exit_code == 0, result.output
    assert "modern_tcn_xs" in result.output and "MACs/step" in result.output
