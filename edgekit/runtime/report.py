"""Bench and stream results as a markdown table and a latency PNG (matplotlib, imported lazily)."""

from __future__ import annotations

from pathlib import Path


def _size(n: int) -> str:
    return f"{n / 1024:.1f} KiB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.2f} MiB"


def _count(n: int | None) -> str:
    if n is None:
        return ""
    if n >= 1e9:
        return f"{n / 1e9:.2f} G"
    if n >= 1e6:
        return f"{n / 1e6:.2f} M"
    return f"{n / 1e3:.1f} K" if n >= 1e3 else str(n)


def _times(value: float | None) -> str:
    return "" if value is None else f"{value:.3g}x"


def bench_markdown(result: dict) -> str:
    """One row per model × threads × batch, with ratios against the baseline, then the machine."""
    lines = [f"| model | kind | precision | threads | batch | p50 ms | p90 ms | p99 ms | throughput | size | MACs | "
             f"speedup vs {result['baseline']} | MACs ratio |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in result["rows"]:
        lat = r["latency_ms"]
        unit = "samples/s" if r["kind"] == "step" else "windows/s"
        lines.append(f"| {r['label']} | {r['kind']} ({r['length']}) | {r['precision']} | {r['threads']} | "
                     f"{r['batch']} | {lat['p50']:.4g} | {lat['p90']:.4g} | {lat['p99']:.4g} | "
                     f"{r['throughput_per_s']:,.0f} {unit} | {_size(r['size_bytes'])} | {_count(r['macs'])} | "
                     f"{_times(r['speedup'])} | {_times(r['macs_ratio'])} |")
    m = result["machine"]
    lines += ["", f"{m['cpu']}, {m['cores']} cores; onnxruntime {m['onnxruntime']} ({result['rows'][0]['provider']}), "
                  f"onnx {m['onnx']}, numpy {m['numpy']}, Python {m['python']}, edgekit {m['edgekit']}. "
                  f"Kind (n): window models over n samples, step models one sample. MACs per inference "
                  f"at batch 1, counted from the ONNX graph."]
    return "\n".join(lines) + "\n"


def bench_plot(result: dict, path: str | Path) -> Path:
    from edgekit.plots import plot_latency

    groups: dict[str, list[dict]] = {}
    for r in result["rows"]:
        name = f"{r['threads']} thread{'s' if r['threads'] > 1 else ''}, batch {r['batch']}"
        groups.setdefault(name, []).append({"label": r["label"], **r["latency_ms"]})
    return plot_latency(groups, path, title="edgekit bench: onnxruntime latency per inference")


def stream_plot(summaries: dict[str, dict], path: str | Path) -> Path:
    """Per-sample latency of streams (one bar per stream: p50, whisker to p99), in microseconds."""
    from edgekit.plots import plot_latency

    items = [{"label": f"{name} ({s['mode']})", **s["latency_us"]} for name, s in summaries.items() if s["latency_us"]]
    return plot_latency({"per sample: bridge + model": items}, path, title="edgekit stream: latency per sample",
                        unit="µs")
