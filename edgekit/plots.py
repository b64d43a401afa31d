"""PNG plots for run directories: confusion matrix and training curves.

Matplotlib is imported inside each function (it is slow to import and the runtime does not need
it) and drives the Agg canvas directly (`matplotlib.figure.Figure` + `FigureCanvasAgg`), so no
global pyplot backend is switched and nothing opens a window. Files are written atomically.
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


def plot_confusion(confusion: Any, class_names: Sequence[str], path: str | os.PathLike,
                   title: str = "Confusion matrix", normalize: bool = True) -> Path:
    """Heat map of a `(K, K)` confusion matrix (rows true, columns predicted); with `normalize`
    each row is divided by its support, so cells read as recall. Returns the written path."""
    cm = np.asarray(confusion, dtype=np.float64)
    k = len(class_names)
    if cm.shape != (k, k):
        raise EdgekitError(f"confusion matrix has shape {cm.shape}; expected ({k}, {k}) for {k} class names")
    if normalize:
        cm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1.0)
    side = max(4.0, 0.45 * k + 2.5)
    fig = _new_figure(side + 1.0, side)
    ax = fig.add_subplot()
    image = ax.imshow(cm, cmap="Blues", vmin=0.0, vmax=1.0 if normalize else None)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ax.set(xticks=range(k), yticks=range(k), xlabel="predicted", ylabel="true", title=title)
    ax.set_xticklabels(class_names, rotation=60, ha="right", fontsize=7)
    ax.set_yticklabels(class_names, fontsize=7)
    if k <= 30:
        threshold = cm.max() / 2 if cm.size else 0.0
        for i in range(k):
            for j in range(k):
                text = f"{cm[i, j]:.2f}" if normalize else f"{int(cm[i, j])}"
                ax.text(j, i, text, ha="center", va="center", fontsize=6,
                        color="white" if cm[i, j] > threshold else "black")
    return _save(fig, path)


def _curve_keys(history: list[dict]) -> list[str]:
    keys: list[str] = []
    for record in history:
        for key, value in record.items():
            if key not in keys and key not in _NOT_CURVES and isinstance(value, numbers.Real) \
                    and not isinstance(value, bool):
                keys.append(key)
    return keys


def plot_history(history: list[dict], path: str | os.PathLike, keys: Sequence[str] | None = None,
                 title: str | None = None) -> Path:
    """Training curves from per-epoch records (e.g. `{"epoch": 3, "train_loss": .., "val_loss": ..,
    "val_macro_f1": .., "lr": ..}`): keys with "loss" in their name on the left panel, learning
    rates ("lr", "*_lr") on a log-scale panel, every other number on the metrics panel. The x axis
    is `"epoch"` (or `"step"`) when records have it, else the record index. `keys` picks the curves."""
    if not history:
        raise EdgekitError("plot_history got an empty history; expected a list of per-epoch dicts")
    chosen = list(keys) if keys is not None else _curve_keys(history)
    x_key = next((k for k in ("epoch", "step") if all(k in r for r in history)), None)
    x = [r[x_key] for r in history] if x_key else list(range(len(history)))
    panels = {
        "loss": [k for k in chosen if "loss" in k],
        "lr": [k for k in chosen if k == "lr" or k.endswith("_lr")],
    }
    panels["metric"] = [k for k in chosen if k not in panels["loss"] and k not in panels["lr"]]
    panels = {name: ks for name, ks in panels.items() if ks}
    if not panels:
        seen = sorted({k for r in history for k in r})
        raise EdgekitError(f"plot_history found no numeric curves to draw; keys seen: {seen}")
    fig = _new_figure(4.5 * len(panels), 3.6)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (name, ks) in zip(axes, panels.items()):
        for key in ks:
            points = [(xi, r[key]) for xi, r in zip(x, history) if isinstance(r.get(key), numbers.Real)]
            if points:
                xs, ys = zip(*points)
                ax.plot(xs, ys, marker="o" if len(points) < 30 else None, markersize=3, label=key)
        if name == "lr":
            ax.set_yscale("log")
        ax.set(xlabel=x_key or "record", title=name)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def plot_latency(groups: dict[str, Sequence[dict]], path: str | os.PathLike, title: str = "Latency",
                 unit: str = "ms") -> Path:
    """Horizontal bars of p50 latency with a p90–p99 whisker, one panel per group (e.g. "1 thread,
    batch 1"), log-scale x so a 100x gap still shows both bars. Each item: {"label", "p50", "p90", "p99"}."""
    groups = {name: list(items) for name, items in groups.items() if items}
    if not groups:
        raise EdgekitError("no latencies to plot")
    rows = max(len(items) for items in groups.values())
    fig = _new_figure(7.0, 0.9 + len(groups) * (0.45 * rows + 0.8))
    axes = fig.subplots(len(groups), 1, squeeze=False)[:, 0]
    for ax, (name, items) in zip(axes, groups.items()):
        y = np.arange(len(items))
        p50 = np.array([float(i["p50"]) for i in items])
        lo = p50 - np.minimum(p50, [float(i["p90"]) for i in items])
        hi = np.array([float(i["p99"]) for i in items]) - p50
        ax.barh(y, p50, color="#4878a8", xerr=np.vstack([np.abs(lo), np.maximum(hi, 0)]), capsize=3)
        for yi, value in zip(y, p50):
            ax.text(value, yi, f" {value:.3g}", va="center", fontsize=7)
        ax.set_yticks(y)
        ax.set_yticklabels([str(i["label"]) for i in items], fontsize=8)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_title(name, fontsize=9, loc="left")
        ax.set_xlabel(f"p50 latency ({unit}); whisker to p99")
    fig.suptitle(title, fontsize=10)
    return _save(fig, path)
