"""Bench and stream results as a markdown table and a latency PNG (matplotlib, imported lazily)."""

from __future__ import annotations

from pathlib import Path

from edgekit.formatting import format_bytes, format_count, format_number, format_ratio, markdown_table
from edgekit.runtime.machine import describe_machine


def bench_markdown(result: dict) -> str:
    """One row per model × threads × batch, with ratios against the baseline, then the machine."""
    columns = ["model", "kind", "precision", "threads", "batch", "p50 ms", "p90 ms", "p99 ms", "throughput", "size",
               "MACs", f"speedup vs {result['baseline']}", "MACs ratio"]
    rows = []
    for r in result["rows"]:
        lat = r["latency_ms"]
        unit = "samples/s" if r["kind"] == "step" else "windows/s"
        rows.append([r["label"], f"{r['kind']} ({r['length']})", r["precision"], r["threads"], r["batch"],
                     *(format_number(lat[p], ".4g") for p in ("p50", "p90", "p99")),
                     f"{r['throughput_per_s']:,.0f} {unit}", format_bytes(r["size_bytes"]), format_count(r["macs"]),
                     format_ratio(r["speedup"]), format_ratio(r["macs_ratio"])])
    provider = result["rows"][0]["provider"] if result["rows"] else "no rows"
    drifting = "".join(f"\nWarning: {m['label']} was exported with --allow-drift ({m['drift']})."
                       for m in result.get("models", []) if m.get("drift"))
    return (markdown_table(columns, rows, left=3) + f"\n{describe_machine(result['machine'])}; {provider}. "
            "Kind (n): window models over n samples, step models one sample. MACs per inference at batch 1, "
            f"counted from the ONNX graph.{drifting}\n")


def bench_plot(result: dict, path: str | Path) -> Path:
    from edgekit.plots import plot_latency

    groups: dict[str, list[dict]] = {}
    for r in result["rows"]:
        name = f"{r['threads']} thread{'s' if r['threads'] > 1 else ''}, batch {r['batch']}"
        groups.setdefault(name, []).append({"label": r["label"], **r["latency_ms"]})
    return plot_latency(groups, path, title="edgekit bench: onnxruntime latency per inference")


def stream_plot(summaries: dict[str, dict], path: str | Path) -> Path:
    """Per-sample latency of streams in microseconds, one row per stream: the mean, whisker to p99.
    Means, not p50s: in window mode most samples only run the bridge and a few run the model, so
    the p50 hides the model's cost that the mean carries."""
    from edgekit.plots import plot_latency

    items = [{"label": f"{name} ({s['mode']})", **s["latency_us"]} for name, s in summaries.items() if s["latency_us"]]
    return plot_latency({"per sample: bridge + model": items}, path, title="edgekit stream: latency per sample",
                        unit="µs", center="mean")
