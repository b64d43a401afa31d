"""Export tests: one torch thread (steady on shared cores) and the model zoo's tiny configs."""

import sys
from pathlib import Path

import torch

torch.set_num_threads(1)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models"))  # zoo_helpers
sys.path.insert(0, str(Path(__file__).resolve().parent))  # export_helpers

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def trained():
    """A tiny causal student trained on the separable synthetic task (accuracy 1.0 in fp32)."""
    from export_helpers import train_tiny

    return train_tiny("mbconv_tcn_causal_xs")


@pytest.fixture(scope="session")
def exported(trained, tmp_path_factory):
    """`trained` exported to fp32 ONNX: (trained, path, info)."""
    from export_helpers import CLASSES, LENGTH

    from edgekit.export.metadata import ModelInfo
    from edgekit.export.onnx import export_window_model
    from edgekit.features import FeatureSpec

    info = ModelInfo.from_spec(trained.name, FeatureSpec.uci_har_default(), CLASSES, LENGTH, padding="right",
                               channels=trained.scaler.channels)
    path = tmp_path_factory.mktemp("fp32") / "student.fp32.onnx"
    export_window_model(trained.model, trained.scaler, info, path,
                        [b for _, b in trained.windows.validation.batches()])
    return trained, path, info
