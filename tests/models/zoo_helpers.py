"""Helpers for the model-zoo tests: tiny configs so the whole zoo runs in seconds.

`TINY[name]` holds small option overrides per registered model; a model without an entry is
built with its defaults (add an entry when you register a large model). `VARIANTS` names option
choices (pooling, front ends) that the contract suite runs like models of their own:
`build("resnet1d[pool=gem]")`.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from edgekit.models.registry import create_model

IN_CHS = 12
NUM_CLASSES = 5


def _teacher_tiny() -> dict[str, dict]:
    from edgekit.models.layers.mbconv2d import MBConvStage
    from edgekit.models.teachers.resnet1d import ResNetStage

    return {
        "cnn_bigru_attn": dict(chs=(8, 16), gru_hidden=8, dense=(16,)),
        "densenet1d": dict(stem_chs=8, block_depths=(2, 2), growth_rate=4, exp_ratio=2, kernel_size=3),
        "inception_time": dict(filters=4, depth=3, kernel_sizes=(9, 5, 3), bottleneck_chs=4, stem_chs=8),
        "minirocket": dict(num_features=168),
        "resnet1d": dict(stem_chs=8, stages=(ResNetStage(8, 1, 1), ResNetStage(16, 1, 2))),
        "spectro2d": dict(n_fft=16, stem_chs=8, stages=(MBConvStage(8, 1, (1, 1), exp_ratio=1.0),
                                                        MBConvStage(16, 1, (2, 2))), head_chs=16),
        "squeezeformer": dict(d_model=16, layers=1, num_heads=2, d_ff=32, kernel_size=7),
        "squeezeformer_cls": dict(d_model=16, layers=1, num_heads=2, d_ff=32, kernel_size=7),
        "unet_se_wave_gru": dict(stem_chs=8, unet_chs=(8, 16), num_heads=2, wave_chs=8, wave_rates=2,
                                 gru_hidden=8, head_chs=16),
        "wavenet1d": dict(chs=8, dilations=(1, 2, 4)),
    }


# option choices that change the graph, each run through the whole contract suite
VARIANTS: dict[str, tuple[str, dict]] = {
    "resnet1d[pool=gem]": ("resnet1d", dict(pool="gem")),
    "wavenet1d[pool=attention]": ("wavenet1d", dict(pool="attention")),
    "densenet1d[pool=gem]": ("densenet1d", dict(pool="gem")),
    "densenet1d[pool=attention]": ("densenet1d", dict(pool="attention")),
    "spectro2d[pool=gem]": ("spectro2d", dict(pool="gem")),
    "spectro2d[pool=attention]": ("spectro2d", dict(pool="attention")),
    "spectro2d[frontend=cwt]": ("spectro2d", dict(frontend="cwt")),
    "modern_tcn_xs[input_means]": ("modern_tcn_xs", dict(input_means=True)),
    "mbconv_tcn_causal_xs[input_means]": ("mbconv_tcn_causal_xs", dict(input_means=True)),
}


def registered_name(case: str) -> str:
    """The registry name behind a zoo case (a model name or a `VARIANTS` key)."""
    return VARIANTS.get(case, (case, {}))[0]


def tiny_options(name: str) -> dict:
    teachers = _teacher_tiny()
    if name in teachers:
        return teachers[name]
    if name.startswith("modern_tcn"):
        return dict(hidden=16, dilations=(1, 2), large_kernel=9, physics_hidden=8)
    if name.startswith("lite"):
        return dict(filters=4, kernel_sizes=(9, 5), custom_sizes=(2, 4), fcn_kernel_sizes=(5, 3), physics_hidden=8)
    if name.startswith("mbconv_tcn"):
        from edgekit.models.students.mbconv_tcn import MBStage

        return dict(stem_chs=8, stages=(MBStage(8, (1,), exp_ratio=2.0), MBStage(16, (1, 2), exp_ratio=2.0)),
                    physics_hidden=8)
    return {}


def randomize_norms(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every BatchNorm non-trivial statistics and affine terms.

    Fresh BatchNorms map 0 → 0, so a missing padding mask would go unnoticed in bias-free conv
    stacks; random shifts make padded positions non-zero unless they are masked.
    """
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, _BatchNorm) and m.running_mean is not None:
                n = m.running_mean.numel()
                m.running_mean.copy_(0.3 * torch.randn(n, generator=g))
                m.running_var.copy_(0.5 + torch.rand(n, generator=g))
                if m.affine:
                    m.weight.copy_(1.0 + 0.2 * torch.randn(n, generator=g))
                    m.bias.copy_(0.3 * torch.randn(n, generator=g))
    return model


def build(name: str, seed: int = 0, **extra) -> nn.Module:
    """Tiny `name` (a registered model or a `VARIANTS` key) with randomized norms, in eval mode."""
    name, variant = VARIANTS.get(name, (name, {}))
    torch.manual_seed(seed)
    model = create_model(name, in_chs=IN_CHS, num_classes=NUM_CLASSES, **{**tiny_options(name), **variant, **extra})
    return randomize_norms(model, seed).eval()


class StepGraph(nn.Module):
    """A causal model's `step` as a module's `forward`, for `torch.onnx.export` in tests."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x_t: torch.Tensor, *state: torch.Tensor):
        return self.model.step(x_t, *state)
