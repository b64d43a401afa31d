"""Plots: PNG files are written atomically, with the right content type, and bad input is reported."""

import numpy as np
import pytest

from edgekit.errors import EdgekitError
from edgekit.plots import plot_confusion, plot_history

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _is_png(path) -> bool:
    data = path.read_bytes()
    return len(data) > 1000 and data.startswith(PNG_MAGIC)


def test_plot_confusion_writes_png(tmp_path):
    confusion = np.array([[5, 1, 0], [0, 3, 2], [1, 0, 4]])
    out = plot_confusion(confusion, ["a", "b", "c"], tmp_path / "sub" / "confusion.png", title="fold 0")
    assert out == tmp_path / "sub" / "confusion.png" and _is_png(out)
    raw = plot_confusion(confusion.tolist(), ["a", "b", "c"], tmp_path / "raw.png", normalize=False)
    assert _is_png(raw)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw.png", "sub"]  # no temp files left
    with pytest.raises(EdgekitError, match="expected \\(2, 2\\)"):
        plot_confusion(confusion, ["a", "b"], tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()


def test_plot_history_writes_png(tmp_path):
    history = [{"epoch": e, "train_loss": 1.0 / (e + 1), "val_loss": 1.2 / (e + 1), "val_macro_f1": 0.5 + 0.1 * e,
                "lr": 1e-3 * (0.5**e), "note": "text is skipped"} for e in range(4)]
    out = plot_history(history, tmp_path / "history.png", title="run")
    assert _is_png(out)
    assert _is_png(plot_history(history, tmp_path / "loss_only.png", keys=["train_loss"]))
    with pytest.raises(EdgekitError, match="empty history"):
        plot_history([], tmp_path / "empty.png")
    with pytest.raises(EdgekitError, match="no numeric curves"):
        plot_history([{"epoch": 1, "note": "x"}], tmp_path / "none.png")
