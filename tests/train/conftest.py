"""Shared tiny data and recipes for the training tests (CPU, seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgekit.train.recipe import recipe_from_dict

TINY_TEACHERS = [
    {"name": "wavenet1d", "options": {"chs": 8, "dilations": [1, 2], "drop": 0.0}},
    {"name": "cnn_bigru_attn", "options": {"chs": [8, 8], "gru_hidden": 8, "dense": [16, 16], "drop": 0.0}},
]


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One torch thread: on a small shared CPU, torch's one-thread-per-core default oversubscribes
    and these tests run many times slower. Restored afterwards (run.train sets threads globally)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def sim_table(tmp_path_factory) -> Path:
    """A small simulated CMI-schema table: 72 sequences from 8 subjects."""
    from edgekit.data.simulator import SimConfig, simulate, write_simulation

    path = tmp_path_factory.mktemp("sim") / "train.parquet"
    write_simulation(simulate(72, seed=3, config=SimConfig(n_subjects=8)), path)
    return path


def tiny_recipe(source: Path, **sections) -> dict:
    raw = {
        "name": "tiny",
        "seed": 0,
        "data": {"source": str(source), "holdout_subjects": 0.25, "length": 32},
        "features": {"preset": "cmi_default"},
        "teachers": {"folds": 2, "members": TINY_TEACHERS},
        "student": {"name": "mbconv_tcn_xs", "options": {"recon_chs": 3}},
        "train": {"epochs": 2, "batch_size": 16, "optim": {"lr": 3e-3}, "loss": {"binary_weight": 0.2},
                  "augment": {"jitter_std": 0.02, "mixup_p": 0.3}},
        "distill": {"alpha": 0.5, "temperature": 2.0},
        "device": {"threads": 1},
    }
    for key, value in sections.items():
        raw[key] = {**raw.get(key, {}), **value} if isinstance(value, dict) else value
    return raw


@pytest.fixture()
def make_recipe(sim_table):
    def make(**sections):
        return recipe_from_dict(tiny_recipe(sim_table, **sections))

    return make
