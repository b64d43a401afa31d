"""Tiny trained and exported models for the runtime tests, built once per session.

- `sim_export`: simulator data → `edgekit.train.run.train` (a causal student alone, 2 epochs) →
  `edgekit.export.run.export_run` (cpu-int8: fp32 + INT8 window models, fp32 + INT8 step models),
  plus the raw simulator table the stream reads (with each sequence's handedness).
- `uci_models`: a causal student fitted for a few steps on UCI-HAR features
  (`uci_har_path` from tests/conftest.py; skipped when absent), exported as window and step models.
Torch is imported inside the fixtures only, so the torch-free test can share them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pytest

REPO = Path(__file__).resolve().parents[2]
SIM_SEQUENCES = 40
STUDENT = "mbconv_tcn_causal_xs"


@dataclass
class Exported:
    folder: Path
    table: Path  # raw samples to stream (parquet)
    window: Path
    step: Path
    int8: Path | None = None
    step_int8: Path | None = None


@pytest.fixture(scope="session")
def sim_export(tmp_path_factory) -> Exported:
    import torch

    from edgekit.export.run import export_run
    from edgekit.train.recipe import load_recipe
    from edgekit.train.run import TrainRequest, train

    threads = torch.get_num_threads()
    root = tmp_path_factory.mktemp("sim_export")
    recipe = load_recipe(REPO / "recipes" / "sim" / "quickstart.toml", [
        f"data.simulate_sequences={SIM_SEQUENCES}", "data.simulate_subjects=8", "data.length=48",
        "train.epochs=2", f"student.name={STUDENT}"])
    try:
        train(TrainRequest(recipe, teacher="none", out=root / "run"))
        report = export_run(root / "run", target="cpu-int8", max_validation=8, step_parity_windows=2)
    finally:
        torch.set_num_threads(threads)
    from edgekit.data.simulator import simulate

    data = simulate(12, seed=11)  # fresh sequences, not the training ones
    ids = data.train.get_column("sequence_id").unique(maintain_order=True)
    hands = pl.DataFrame({"sequence_id": ids, "handedness": [i % 2 for i in range(len(ids))]})  # both hands
    stream_path = root / "stream.parquet"
    data.train.join(hands, on="sequence_id", how="left").write_parquet(stream_path)
    return Exported(root / "run" / "export", stream_path, Path(report["fp32"]["path"]),
                    Path(report["step_fp32"]["path"]), Path(report["int8"]["path"]),
                    Path(report["step_int8"]["path"]))


@pytest.fixture(scope="session")
def uci_models(uci_har_path, tmp_path_factory):
    """(folder, window path, step path, test subset SequenceDataset of raw UCI-HAR windows)."""
    import torch

    from edgekit.data.load import load_dataset
    from edgekit.export.metadata import ModelInfo
    from edgekit.export.onnx import export_window_model
    from edgekit.export.streaming import export_step_model
    from edgekit.export.windows import Windows
    from edgekit.features import FeatureSpec, features_for_dataset
    from edgekit.models.registry import create_model
    from edgekit.train.tensors import Scaler

    spec = FeatureSpec.uci_har_default()
    train_raw = load_dataset(uci_har_path, split="train")
    test_raw = load_dataset(uci_har_path, split="test")
    rng = np.random.default_rng(0)
    train_raw = train_raw.subset(rng.choice(len(train_raw), 256, replace=False))
    test_raw = test_raw.subset(rng.choice(len(test_raw), 24, replace=False))
    train = features_for_dataset(train_raw, spec)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        model = create_model(STUDENT, in_chs=len(spec.names()), num_classes=len(train.class_names),
                             stem_chs=8, physics_hidden=8)
        scaler = Scaler.fit(train.sequences, spec.names())
        x = torch.from_numpy(scaler.apply(np.stack(train.sequences)))
        y = torch.from_numpy(train.labels)
        opt = torch.optim.Adam(model.parameters(), lr=5e-3)
        model.train()
        for i in range(30):
            idx = torch.randint(0, len(y), (32,), generator=torch.Generator().manual_seed(i))
            loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        folder = tmp_path_factory.mktemp("uci_models")
        info = ModelInfo.from_spec(STUDENT, spec, train.class_names, 128, padding="right")
        windows = Windows(train.sequences[:4], train.labels[:4])
        export_window_model(model, scaler, info, folder / "student.fp32.onnx", [np.stack(train.sequences[:4])])
        export_step_model(model, scaler, info, folder / "student.step.fp32.onnx",
                          window_path=folder / "student.fp32.onnx", parity_windows=windows.subset(2))
    finally:
        torch.set_num_threads(threads)
    return folder, folder / "student.fp32.onnx", folder / "student.step.fp32.onnx", test_raw
