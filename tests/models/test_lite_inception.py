"""LITE's hand-crafted filters and size, InceptionTime's modules: what the zoo suite does not check."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from edgekit.models.costs import count_params
from edgekit.models.layers.custom_filters import HandCraftedFilters, hand_crafted_filters, peak_filter, trend_filter
from edgekit.models.layers.inception import InceptionModule
from edgekit.models.registry import create_model

from zoo_helpers import randomize_norms


def test_filters_follow_the_authors_formulas():
    increasing = np.ones(4)
    increasing[np.arange(4) % 2 == 0] *= -1
    np.testing.assert_array_equal(trend_filter(4, True).numpy(), increasing)
    np.testing.assert_array_equal(trend_filter(4, False).numpy(), -increasing)
    np.testing.assert_array_equal(peak_filter(4).numpy(), [-1, -1, 2, 2, -1, -1])
    peak = peak_filter(16).numpy()
    assert len(peak) == 24 and peak.sum() == 0 and peak[8:16].min() > 0 and peak[:8].max() < 0
    assert len(hand_crafted_filters((2, 4, 8, 16, 32, 64))) == 17  # 6 increasing, 6 decreasing, 5 peaks
    # an increasing series excites the increasing filter and not the decreasing one
    ramp = torch.arange(20.0).view(1, 1, -1)
    out = HandCraftedFilters(1, (4,), depthwise=True)(ramp)[0, :, 4:-4]
    assert (out[0] > 0).all() and (out[1] == 0).all()


def test_even_filters_pad_like_keras_same():
    x = torch.randn(1, 2, 25)
    layer = HandCraftedFilters(2, (8,), depthwise=True)
    got = layer.convs[0](x)  # the increasing filter of length 8, before the ReLU
    f = trend_filter(8, True).view(1, 1, -1).expand(2, 1, -1)
    want = F.conv1d(F.pad(x, ((8 - 1) // 2, 8 // 2)), f, groups=2)  # Keras: one more sample after
    torch.testing.assert_close(got, want)


def test_fixed_filters_are_buffers_not_parameters():
    model = create_model("lite", in_chs=3, num_classes=26)
    custom = model.backbone.custom
    assert not list(custom.parameters())
    assert any(k.startswith("backbone.custom.convs.0.weight") for k in model.state_dict())
    assert custom.out_chs == 17 * 3  # LITEMV: every filter on every channel
    assert 8_000 <= count_params(model) <= 15_000  # "about 10 K parameters", physics head included
    summed = create_model("lite", in_chs=3, num_classes=26, multivariate=False)
    assert summed.backbone.custom.out_chs == 17  # LITE: filters summed over channels


def test_inception_module_max_pool_ignores_padding():
    torch.manual_seed(0)
    module = randomize_norms(InceptionModule(4, 3, (5, 3), bottleneck_chs=2)).eval()
    x = torch.randn(1, 4, 12)
    padded = torch.cat([x, torch.full((1, 4, 5), 50.0)], dim=-1)  # large garbage after the end
    mask = torch.cat([torch.ones(1, 1, 12), torch.zeros(1, 1, 5)], dim=-1)
    with torch.no_grad():
        alone = module(x)
        batched = module(padded, mask)[..., :12]
    torch.testing.assert_close(batched, alone)


def test_inception_time_layout():
    model = create_model("inception_time", in_chs=3, num_classes=26)
    assert [len(block.stack) for block in model.blocks] == [3, 3]  # residual every 3 modules
    assert model.num_features == 128  # 4 branches × 32 filters
    assert 3e5 <= count_params(model) <= 7e5
