"""A tiny trained student on a separable synthetic task, and a run directory around it.

Raw features have large, uneven means and scales (so a missing normalization fold shows), and
windows vary in length (so the dynamic time axis is exercised).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from edgekit.export.run import ExportWindows
from edgekit.export.windows import Windows
from edgekit.features import FeatureSpec
from edgekit.rundir import RunDir, save_model
from edgekit.train.tensors import Scaler

from zoo_helpers import tiny_options


def run_dir_options(name: str) -> dict:
    """Tiny options that survive `rundir.save_model` → `load_model`: model.json stores plain values
    and `model_options` rebuilds dataclasses only for options the builder annotates, so the
    students' `stages` (taken through `**opts`) would come back as plain tables."""
    if name.startswith("mbconv_tcn"):
        return dict(stem_chs=8, physics_hidden=8)
    return tiny_options(name)

CHANNELS = 6
CLASSES = ("still", "slow", "fast")
LENGTH = 32
OFFSET = np.array([9.8, -3.0, 120.0, 0.5, 0.0, 40.0], dtype=np.float32)
SCALE = np.array([2.0, 0.1, 30.0, 1.0, 5.0, 0.01], dtype=np.float32)


def synthetic_windows(n: int, seed: int, lengths=(LENGTH, LENGTH - 8)) -> Windows:
    """Class k oscillates at frequency (k + 1) / 8 cycles per sample in channels 0-2; noise elsewhere."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(CLASSES), size=n)
    seqs = []
    for i, k in enumerate(labels):
        t = np.arange(lengths[i % len(lengths)])
        phase = rng.uniform(0, 2 * np.pi)
        x = 0.3 * rng.normal(size=(len(t), CHANNELS))
        x[:, :3] += np.sin(2 * np.pi * (k + 1) / 8 * t + phase)[:, None] * (1.0 + 0.2 * np.arange(3))
        seqs.append((x * SCALE + OFFSET).astype(np.float32))
    return Windows(seqs, labels)


@dataclass
class Trained:
    name: str
    options: dict
    model: torch.nn.Module
    scaler: Scaler
    windows: ExportWindows


def train_tiny(name: str = "mbconv_tcn_causal_xs", steps: int = 60, seed: int = 0, **extra) -> Trained:
    """`extra`: model options beside the tiny ones."""
    from edgekit.models.registry import create_model

    torch.manual_seed(seed)
    options = {**run_dir_options(name), **extra}
    model = create_model(name, in_chs=CHANNELS, num_classes=len(CLASSES), **options)
    train, valid = synthetic_windows(192, seed), synthetic_windows(96, seed + 1)
    scaler = Scaler.fit(train.sequences, [f"ch{i}" for i in range(CHANNELS)])
    x, mask = train.padded_right()
    x = torch.from_numpy(scaler.apply(x, mask))
    mask_t, y = torch.from_numpy(mask), torch.from_numpy(train.labels)
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    gen = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(steps):
        idx = torch.randint(0, len(y), (32,), generator=gen)
        loss = torch.nn.functional.cross_entropy(model(x[idx], mask_t[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return Trained(name, options, model.eval(), scaler, ExportWindows(train, valid, source="synthetic"))


def write_run_dir(root: Path, trained: Trained) -> RunDir:
    run = RunDir(root)
    run.root.mkdir(parents=True, exist_ok=True)
    save_model(run.student, trained.model, trained.name,
               {"in_chs": CHANNELS, "num_classes": len(CLASSES), **trained.options})
    trained.scaler.save(run.scaler)
    spec = FeatureSpec.uci_har_default()
    run.feature_spec.write_text(spec.to_json())
    run.data.write_text(json.dumps({"class_names": list(CLASSES), "channels": list(trained.scaler.channels),
                                    "length": LENGTH, "sample_period_s": 0.02, "source": "synthetic"}))
    return run
