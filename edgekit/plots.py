"""PNG plots for run directories and reports: confusion matrix, training curves, latencies.

Each plot has a `*_figure` builder (returns the matplotlib Figure, so tests can check what is drawn)
and a `plot_*` function that writes it as a PNG. Matplotlib is imported inside each function (it is
slow to import and the runtime does not need it) and drives the Agg canvas directly
(`matplotlib.figure.Figure` + `FigureCanvasAgg`), so no global pyplot backend is switched and
nothing opens a window. Files are written atomically.
"""

from __future__ import annotations

import numbers
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from edgekit.errors import EdgekitError
from edgekit.io import atomic_path

_NOT_CURVES = {"epoch", "step", "fold"}
_METRIC_WORDS = ("acc", "f1", "score", "precision", "recall", "auc", "iou")
_LOW_WHISKER = ("p1", "p10", "min", "p50")  # a real measured lower end, most informative first


def _new_figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: str | os.PathLike) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return Path(path)


def confusion_figure(confusion: Any, class_names: Sequence[str], title: str = "Confusion matrix",
                     normalize: bool = True):
    """Heat map of a `(K, K)` confusion matrix (rows true, columns predicted); with `normalize`
    each row is divided by its support, so cells read as recall. Counts stay visible either way:
    each true class is labelled with its support (n=...) and each cell with its count, so a 1.00
    from a single sample reads as such."""
    counts = np.asarray(confusion, dtype=np.float64)
    k = len(class_names)
    if counts.shape != (k, k):
        raise EdgekitError(f"confusion matrix has shape {counts.shape}; expected ({k}, {k}) for {k} class names")
    support = counts.sum(axis=1)
    cm = counts / np.maximum(support[:, None], 1.0) if normalize else counts
    row_labels = [f"{name} (n={int(n)})" for name, n in zip(class_names, support)]
    side = max(4.0, 0.5 * k + 2.5)
    # room for the row and column labels on top of the cells, so the cells stay about square
    label_width = 0.06 * max(len(label) for label in row_labels)
    fig = _new_figure(side + 1.0 + label_width, side + 0.05 * max(len(str(name)) for name in class_names))
    ax = fig.add_subplot()
    # aspect="auto": an equal-aspect image defeats the constrained layout and clips the row labels
    image = ax.imshow(cm, cmap="Blues", vmin=0.0, vmax=1.0 if normalize else None, aspect="auto")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="fraction of the true class" if normalize else "count")
    ax.set(xticks=range(k), yticks=range(k), xlabel="predicted", ylabel="true (support n)",
           title=f"{title} (n={int(support.sum())})")
    ax.set_xticklabels(class_names, rotation=60, ha="right", fontsize=7)
    ax.set_yticklabels(row_labels, fontsize=7)
    if k <= 30:
        threshold = cm.max() / 2 if cm.size else 0.0
        size = 7 if k <= 15 else 6
        for i in range(k):
            for j in range(k):
                count = int(counts[i, j])
                if count == 0:  # a bare 0 keeps the many empty cells quiet
                    ax.text(j, i, "0", ha="center", va="center", fontsize=size, color="0.6")
                    continue
                text = f"{cm[i, j]:.2f}\n{count}" if normalize else f"{count}"
                ax.text(j, i, text, ha="center", va="center", fontsize=size, linespacing=1.1,
                        color="white" if cm[i, j] > threshold else "black")
    return fig


def plot_confusion(confusion: Any, class_names: Sequence[str], path: str | os.PathLike,
                   title: str = "Confusion matrix", normalize: bool = True) -> Path:
    """`confusion_figure` written as a PNG; returns the written path."""
    return _save(confusion_figure(confusion, class_names, title, normalize), path)


def _curve_keys(history: list[dict]) -> list[str]:
    keys: list[str] = []
    for record in history:
        for key, value in record.items():
            if key not in keys and key not in _NOT_CURVES and isinstance(value, numbers.Real) \
                    and not isinstance(value, bool):
                keys.append(key)
    return keys


def _panel_of(key: str) -> str:
    if key == "lr" or key.endswith("_lr"):
        return "learning rate"
    if "loss" in key:
        return "loss"
    if any(word in key for word in _METRIC_WORDS):
        return "metric"
    # the training loop logs the objective's parts (class, kd, binary, physics) as train_<part>
    return "loss" if key.startswith("train_") else "metric"


def history_figure(history: list[dict], keys: Sequence[str] | None = None, title: str | None = None):
    """Training curves from per-epoch records (e.g. `{"epoch": 3, "train_loss": .., "train_kd": ..,
    "val_macro_f1": .., "lr": ..}`), one panel each for losses (keys with "loss" in their name and
    the `train_<part>` loss terms), metrics (accuracy, F1, scores, ...) and learning rates ("lr",
    "*_lr", log scale). The x axis is `"epoch"` (or `"step"`) when records have it, else the record
    index. `keys` picks the curves."""
    if not history:
        raise EdgekitError("plot_history got an empty history; expected a list of per-epoch dicts")
    chosen = list(keys) if keys is not None else _curve_keys(history)
    x_key = next((k for k in ("epoch", "step") if all(k in r for r in history)), None)
    x = [r[x_key] for r in history] if x_key else list(range(len(history)))
    panels: dict[str, list[str]] = {"loss": [], "metric": [], "learning rate": []}
    for key in chosen:
        panels[_panel_of(key)].append(key)
    panels = {name: ks for name, ks in panels.items() if ks}
    if not panels:
        seen = sorted({k for r in history for k in r})
        raise EdgekitError(f"plot_history found no numeric curves to draw; keys seen: {seen}")
    fig = _new_figure(4.5 * len(panels), 3.6)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (name, ks) in zip(axes, panels.items()):
        values = []
        for key in ks:
            points = [(xi, r[key]) for xi, r in zip(x, history) if isinstance(r.get(key), numbers.Real)]
            if points:
                xs, ys = zip(*points)
                values.extend(ys)
                ax.plot(xs, ys, marker="o" if len(points) < 30 else None, markersize=3, label=key)
        positive = [v for v in values if v > 0]
        # loss terms of different sizes (KD is scaled by T^2) flatten each other on a linear axis
        spread = name == "loss" and len(positive) == len(values) and positive and max(positive) > 20 * min(positive)
        if name == "learning rate" or spread:
            ax.set_yscale("log")
        ax.set(xlabel=x_key or "record", title=name)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    return fig


def plot_history(history: list[dict], path: str | os.PathLike, keys: Sequence[str] | None = None,
                 title: str | None = None) -> Path:
    """`history_figure` written as a PNG; returns the written path."""
    return _save(history_figure(history, keys, title), path)


def _stat(item: dict, key: str) -> float:
    value = item.get(key)
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not np.isfinite(value) or value <= 0:
        raise EdgekitError(f"latency item {item.get('label')!r} has {key}={value!r}; expected a positive number "
                           f"(the axis is logarithmic); keys given: {sorted(item)}")
    return float(value)


def _log_axis(ax, low: float, high: float) -> None:
    """Plain-number ticks at 1-2-5 steps (only decades over a wide range) and no minor labels:
    matplotlib's default labels the minor ticks of a narrow log range as overlapping 2x10^-1 ..."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    decades = np.log10(high / low)
    ax.xaxis.set_major_locator(LogLocator(base=10.0, subs=(1.0, 2.0, 5.0) if decades <= 2.5 else (1.0,)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_locator(LogLocator(base=10.0, subs=np.arange(2, 10)))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.tick_params(axis="x", labelsize=8)


def latency_figure(groups: dict[str, Sequence[dict]], title: str = "Latency", unit: str = "ms",
                   center: str = "p50"):
    """Dot plot of latencies, one panel per group (e.g. "1 thread, batch 1"), one row per item, on
    a log x axis so a 100x gap still shows both. Each item: {"label", center, "p99"} plus the
    lower end of the whisker: the first of "p1", "p10", "min", "p50" that every item has. The dot
    is `center` ("p50"; "mean" for streams, where most samples only run the bridge and the p50
    hides the model), the whisker runs from that lower percentile to p99, and the value label sits
    right of the whisker."""
    groups = {name: list(items) for name, items in groups.items() if items}
    if not groups:
        raise EdgekitError("no latencies to plot")
    everything = [item for items in groups.values() for item in items]
    low_key = next((k for k in _LOW_WHISKER if all(k in item for item in everything)), None)
    if low_key is None:
        raise EdgekitError(f"latency items need one of {list(_LOW_WHISKER)} for the whisker's lower end; "
                           f"keys given: {sorted(everything[0])}")
    rows = max(len(items) for items in groups.values())
    fig = _new_figure(7.0, 0.9 + len(groups) * (0.45 * rows + 0.8))
    axes = fig.subplots(len(groups), 1, squeeze=False)[:, 0]
    for ax, (name, items) in zip(axes, groups.items()):
        y = np.arange(len(items))
        mid = np.array([_stat(i, center) for i in items])
        low = np.array([_stat(i, low_key) for i in items])
        high = np.array([_stat(i, "p99") for i in items])
        for yi, lo, hi in zip(y, low, high):
            ax.plot([lo, hi], [yi, yi], color="black", linewidth=1.2, marker="|", markersize=9, gid="whisker")
        ax.plot(mid, y, "o", color="#4878a8", markersize=7, zorder=3, gid="center")
        for yi, value, right in zip(y, mid, np.maximum(mid, high)):
            ax.annotate(f"{value:.3g}", (right, yi), xytext=(7, 0), textcoords="offset points", va="center",
                        fontsize=7, gid="value")
        lo_all, hi_all = min(low.min(), mid.min()), max(high.max(), mid.max())
        span = np.log10(hi_all / lo_all)
        if span < 1.0:  # at least a decade, so the 1-2-5 ticks have something to label
            pad = 10 ** ((1.0 - span) / 2)
            lo_all, hi_all, span = lo_all / pad, hi_all * pad, 1.0
        ax.set_xscale("log")
        ax.set_xlim(lo_all / 10 ** (0.05 * span), hi_all * 10 ** (0.15 * span))  # right: room for the labels
        _log_axis(ax, lo_all, hi_all)
        ax.set_yticks(y)
        ax.set_yticklabels([str(i["label"]) for i in items], fontsize=8)
        ax.set_ylim(len(items) - 0.5, -0.5)
        ax.grid(axis="x", which="major", alpha=0.3)
        ax.grid(axis="y", linestyle=":", alpha=0.5)
        ax.set_title(name, fontsize=9, loc="left")
        ax.set_xlabel(f"latency ({unit}, log scale): dot {center}, whisker {low_key} to p99", fontsize=8)
    fig.suptitle(title, fontsize=10)
    return fig


def plot_latency(groups: dict[str, Sequence[dict]], path: str | os.PathLike, title: str = "Latency",
                 unit: str = "ms", center: str = "p50") -> Path:
    """`latency_figure` written as a PNG; returns the written path."""
    return _save(latency_figure(groups, title, unit, center), path)
