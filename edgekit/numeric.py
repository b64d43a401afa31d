"""Small numeric helpers shared by the metrics, the runtime and the benchmarks (numpy only).

Torch-free and cheap to import: `edgekit.runtime` (which must run without torch) uses them.
"""

from __future__ import annotations

import numpy as np

PERCENTILES = (50, 90, 99)


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax along `axis`; float inputs keep their dtype, integers become float64."""
    z = np.asarray(logits)
    z = z.astype(np.float64) if not np.issubdtype(z.dtype, np.floating) else z
    z = z - np.max(z, axis=axis, keepdims=True)
    e = np.exp(z)
    return e / np.sum(e, axis=axis, keepdims=True)


def distribution(values: np.ndarray, digits: int | None = None) -> dict[str, float]:
    """p50/p90/p99, mean, min and max of `values` (e.g. latencies), rounded to `digits` when given;
    {} when there are none (a stream that saw no samples has no latency to report)."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return {}
    stats = {f"p{q}": float(np.percentile(v, q)) for q in PERCENTILES}
    stats.update(mean=float(v.mean()), min=float(v.min()), max=float(v.max()))
    return stats if digits is None else {k: round(x, digits) for k, x in stats.items()}
