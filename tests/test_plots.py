"""Plots: PNG files are written atomically, with the right content type, and bad input is reported;
what each plot shows is checked on its matplotlib artists (counts, panels, whiskers, tick labels)."""

from itertools import combinations

import numpy as np
import pytest

from edgekit.errors import EdgekitError
from edgekit.plots import (confusion_figure, history_figure, latency_figure, plot_confusion, plot_history,
                           plot_latency)

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



def test_confusion_shows_support_and_counts(tmp_path):
    confusion = np.array([[40, 8, 0], [5, 30, 0], [0, 0, 1]])  # "rare": one sample, predicted right
    fig = confusion_figure(confusion, ["walk", "sit", "rare"])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["walk (n=48)", "sit (n=35)", "rare (n=1)"]
    texts = [t.get_text() for t in ax.texts]
    assert "1.00\n1" in texts and "0.83\n40" in texts  # the fraction and the count behind it
    assert "(n=84)" in ax.get_title()
    raw = confusion_figure(confusion, ["walk", "sit", "rare"], normalize=False).axes[0]
    assert "40" in [t.get_text() for t in raw.texts] and "rare (n=1)" in [t.get_text() for t in raw.get_yticklabels()]
    # edge cases: one class with one sample, a class with no samples
    assert _is_png(plot_confusion([[1]], ["only"], tmp_path / "one.png"))
    empty_row = confusion_figure([[3, 1], [0, 0]], ["a", "b"]).axes[0]
    assert [t.get_text() for t in empty_row.get_yticklabels()] == ["a (n=4)", "b (n=0)"]


def _panels(fig) -> dict[str, set[str]]:
    return {ax.get_title(): {line.get_label() for line in ax.get_lines()} for ax in fig.axes}


def test_history_puts_loss_terms_on_the_loss_panel():
    student = [{"epoch": e, "lr": 1e-3 / e, "train_loss": 2.0 / e, "train_class": 1.0 / e, "train_kd": 3.0 / e,
                "train_physics": 0.01 / e, "train_binary": 0.2 / e} for e in range(1, 6)]
    assert _panels(history_figure(student)) == {
        "loss": {"train_loss", "train_class", "train_kd", "train_physics", "train_binary"}, "learning rate": {"lr"}}
    teacher = [{"epoch": e, "lr": 1e-3, "train_loss": 1.0 / e, "train_class": 1.0 / e, "val_log_loss": 0.9 / e,
                "val_accuracy": 0.5 + e / 20, "val_macro_f1": 0.4 + e / 20, "val_cmi_score": 0.3 + e / 20}
               for e in range(1, 6)]
    assert _panels(history_figure(teacher)) == {
        "loss": {"train_loss", "train_class", "val_log_loss"},
        "metric": {"val_accuracy", "val_macro_f1", "val_cmi_score"}, "learning rate": {"lr"}}
    loss_axis = history_figure(student).axes[0]
    assert loss_axis.get_yscale() == "log"  # terms 300x apart would flatten each other on a linear axis


def _bench_item(label, p50, spread=1.3):
    return {"label": label, "p50": p50, "p90": p50 * spread, "p99": p50 * spread**2, "mean": p50 * 1.05,
            "min": p50 / spread}


def _by_gid(ax, gid):
    return [a for a in [*ax.get_lines(), *ax.texts] if a.get_gid() == gid]


def _check_ticks(fig):
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        assert all(t.get_text() == "" for t in ax.xaxis.get_minorticklabels())  # minor ticks unlabelled
        lo, hi = ax.get_xlim()
        shown = [t for t, x in zip(ax.xaxis.get_majorticklabels(), ax.xaxis.get_majorticklocs())
                 if lo <= x <= hi and t.get_text()]
        assert len(shown) >= 2
        boxes = [t.get_window_extent(renderer) for t in shown]
        assert not any(a.overlaps(b) for a, b in combinations(boxes, 2)), [t.get_text() for t in shown]


@pytest.mark.parametrize("p50s", [
    [2.1, 0.09, 0.055, 0.012],  # 2-3 decades
    [0.25, 0.5, 0.7],  # inside one decade: matplotlib would label its minor ticks
    [1e-4, 0.02, 3.0, 400.0],  # many decades
    [0.25],  # a single model
])
def test_latency_whiskers_labels_and_ticks(tmp_path, p50s):
    items = [_bench_item(f"model {i}", v) for i, v in enumerate(p50s)]
    fig = latency_figure({"1 thread, batch 1": items, "1 thread, batch 64": [_bench_item("x", 5.0)]})
    ax = fig.axes[0]
    whiskers = _by_gid(ax, "whisker")
    assert len(whiskers) == len(items)
    for line, item in zip(whiskers, items):
        xs = list(line.get_xdata())
        assert xs == [item["min"], item["p99"]] and min(xs) > 0  # measured lower end, never a fake 0
    labels = _by_gid(ax, "value")
    for text, item in zip(labels, items):
        assert text.get_text() == f"{item['p50']:.3g}"
        assert text.xy[0] >= item["p99"] and text.get_position()[0] > 0  # right of the whisker, not on it
    _check_ticks(fig)
    assert _is_png(plot_latency({"g": items}, tmp_path / "latency.png"))


def test_latency_prefers_percentile_whiskers_and_plots_means():
    # a window-mode stream: most samples only run the bridge (~3 µs), every 16th runs the model
    window = {"label": "window", "p1": 2.1, "p10": 2.5, "p50": 3.0, "p90": 4.0, "p99": 63.0, "mean": 6.8}
    step = {"label": "step", "p1": 12.7, "p10": 13.7, "p50": 15.1, "p90": 16.7, "p99": 29.3, "mean": 15.4}
    ax = latency_figure({"per sample": [window, step]}, unit="µs", center="mean").axes[0]
    assert list(_by_gid(ax, "center")[0].get_xdata()) == [6.8, 15.4]
    assert [list(line.get_xdata()) for line in _by_gid(ax, "whisker")] == [[2.1, 63.0], [12.7, 29.3]]
    assert "dot mean, whisker p1 to p99" in ax.get_xlabel()
    # what stream summaries hold today (no p1/p10/min): the whisker starts at the measured p50
    today = [{k: v for k, v in item.items() if k not in ("p1", "p10")} for item in (window, step)]
    ax = latency_figure({"per sample": today}, center="mean").axes[0]
    assert [list(line.get_xdata()) for line in _by_gid(ax, "whisker")] == [[3.0, 63.0], [15.1, 29.3]]


def test_latency_edge_cases(tmp_path):
    same = {"label": "flat", "p50": 0.25, "p90": 0.25, "p99": 0.25, "mean": 0.25, "min": 0.25}
    fig = latency_figure({"all equal": [same]})
    _check_ticks(fig)
    assert _is_png(plot_latency({"all equal": [same]}, tmp_path / "flat.png"))
    with pytest.raises(EdgekitError, match="no latencies"):
        plot_latency({"empty": []}, tmp_path / "none.png")
    with pytest.raises(EdgekitError, match="'broken' has min=0.*positive"):
        latency_figure({"g": [{**same, "label": "broken", "min": 0.0}]})
    with pytest.raises(EdgekitError, match="need one of"):
        latency_figure({"g": [{"label": "a", "mean": 1.0, "p99": 2.0}]})
