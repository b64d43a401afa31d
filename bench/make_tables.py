"""Turn the JSON that `make bench` leaves in a results folder into the README's results section.

    .venv/bin/python bench/make_tables.py results/bench [--readme README.md]

Reads, when present (anything missing is skipped, saying so):
- pytest-benchmark JSON files (any `*.json` with a `benchmarks` list: `benchmark.json` from `make
  bench`, `features.json`, ...): one table per benchmark group, medians against the group's fastest;
- `runtime.json` (`bench/test_bench_runtime.py`, `edgekit.runtime.bench`): the side-by-side
  runtime table and the two goals of the runtime issue;
- `train_uci_har.md` / `train_uci_har.json` (`bench/train_uci_har.py`): the UCI-HAR training table;
- `simulator.md` (`bench/simulator_report.py`): simulator speed, faults and baselines;
- `export_uci_har.md` (`bench/export_uci_har.py`): the UCI-HAR export table;
- `bridge_size.json` (`edgekit bridge size --json`): flash and RAM on Cortex-M4F;
- `bridge_callgrind.json` (`bench/bridge_callgrind.py`): C bridge instructions per sample;
- `zero_config.md` (`bench/zero_config.py`): the zero-config table, rendered into its own block
  `<!-- ZERO_CONFIG -->` ... `<!-- /ZERO_CONFIG -->` when the README has that opening marker;
- `pieces.md` (`bench/pieces.py`): what each seed-design piece adds, into `<!-- PIECES -->` likewise.
`--blocks ZERO_CONFIG,PIECES` writes only those blocks (a results folder holding only their inputs
leaves the rest of the README as it is).
The generated markdown replaces what lies between `<!-- RESULTS -->` and `<!-- /RESULTS -->` in the
README, and the model zoo table (`edgekit models list --markdown`) what lies between `<!-- MODELS -->`
and `<!-- /MODELS -->` (a closing marker is added after its opening one when missing); nothing else
is touched.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgekit.formatting import format_cell, format_ratio, format_seconds  # noqa: E402
from edgekit.runtime.machine import describe_machine  # noqa: E402

RESULTS, MODELS, ZERO_CONFIG, PIECES = "RESULTS", "MODELS", "ZERO_CONFIG", "PIECES"  # the README's generated blocks: <!-- NAME --> ... <!-- /NAME -->
OWN_BLOCKS = {ZERO_CONFIG: ("zero_config.md", "bench/zero_config.py"), PIECES: ("pieces.md", "bench/pieces.py")}
EXTRA_KEYS = ("ns_per_sample", "us_per_sample_median", "instructions_per_sample", "precision", "batch",
              "size_bytes")


def pytest_benchmark_tables(data: dict, source: str) -> list[str]:
    groups: dict[str, list[dict]] = {}
    for bench in data.get("benchmarks", []):
        groups.setdefault(bench.get("group") or bench["name"], []).append(bench)
    out = []
    for group, benches in groups.items():
        fastest = min(b["stats"]["median"] for b in benches)
        extra_cols = [k for k in EXTRA_KEYS if any(k in b.get("extra_info", {}) for b in benches)]
        lines = [f"**{group}** (`{source}`)", "",
                 "| benchmark | median | min | rounds | vs fastest |" + "".join(f" {k} |" for k in extra_cols),
                 "|---|---:|---:|---:|---:|" + "---:|" * len(extra_cols)]
        for b in sorted(benches, key=lambda b: b["stats"]["median"]):
            s, extra = b["stats"], b.get("extra_info", {})
            cells = "".join(f" {format_cell(extra.get(k))} |" for k in extra_cols)
            lines.append(f"| {extra.get('model') or b['name']} | {format_seconds(s['median'])} | "
                         f"{format_seconds(s['min'])} | {s['rounds']} | {format_ratio(s['median'] / fastest)} |{cells}")
        extra = benches[0].get("extra_info", {})
        machine = describe_machine({"cpu": extra.get("machine"), **extra})
        out.append("\n".join(lines + ([f"", f"Machine: {machine}."] if machine else [])))
    return out


def runtime_section(data: dict) -> str:
    from edgekit.runtime.report import bench_markdown

    text = "### Runtime (`bench/test_bench_runtime.py`, `edgekit bench`)\n\n" + bench_markdown(data)
    goals = data.get("goals") or {}
    if goals:
        speed, macs = goals.get("int8_vs_teachers_speedup_b1_t1"), goals.get("window128_vs_step_macs_ratio")
        text += ("\nGoals: INT8 student vs teacher ensemble at batch 1 on one thread: "
                 f"{format_ratio(speed) or 'n/a'} faster (goal >= 100x, "
                 f"{'met' if speed and speed >= 100 else 'not met'}); stateful step vs re-running a 128-sample "
                 f"window: {format_ratio(macs) or 'n/a'} fewer MACs per sample (goal >= 30x, "
                 f"{'met' if macs and macs >= 30 else 'not met'}).\n")
    return text


def training_section(folder: Path) -> str | None:
    md, js = folder / "train_uci_har.md", folder / "train_uci_har.json"
    if md.exists():
        body = md.read_text().strip()
    elif js.exists():
        rows = json.loads(js.read_text())["rows"]
        keys = [k for k in rows[0] if k != "model"] if rows else []
        body = "\n".join(["| model |" + "".join(f" {k} |" for k in keys), "|---|" + "---:|" * len(keys)]
                         + [f"| {r['model']} |" + "".join(f" {format_cell(r.get(k))} |" for k in keys) for r in rows])
    else:
        return None
    return "### UCI-HAR training (`bench/train_uci_har.py`)\n\n" + body + "\n"


def _flat_ints(d: dict, prefix: str = "") -> dict[str, int]:
    out: dict[str, int] = {}
    for key, value in d.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flat_ints(value, f"{name}: "))
        elif isinstance(value, int) and not isinstance(value, bool):
            out[name] = value
    return out


def build(folder: Path) -> tuple[str, list[str]]:
    sections, notes = [], []
    training = training_section(folder)
    sections.append(training) if training else notes.append("no train_uci_har.md/json")
    simulator = folder / "simulator.md"
    if simulator.exists():
        sections.insert(0, "### The simulator at competition size (`bench/simulator_report.py`)\n\n"
                        + simulator.read_text().strip() + "\n")
    else:
        notes.append("no simulator.md")
    export = folder / "export_uci_har.md"
    if export.exists():
        sections.append("### UCI-HAR export: teacher ensemble vs student fp32 / INT8 / FP16 "
                        "(`bench/export_uci_har.py`)\n\n" + export.read_text().strip() + "\n")
    else:
        notes.append("no export_uci_har.md")
    runtime = folder / "runtime.json"
    if runtime.exists():
        sections.append(runtime_section(json.loads(runtime.read_text())))
    else:
        notes.append("no runtime.json")
    size = folder / "bridge_size.json"
    if size.exists():
        z = json.loads(size.read_text())
        sections.append("### C bridge on Cortex-M4F (`edgekit bridge size --json`)\n\n"
                        + json.dumps(z, indent=1) if not isinstance(z, dict) else
                        "### C bridge on Cortex-M4F (`edgekit bridge size --json`)\n\n| | bytes |\n|---|---:|\n"
                        + "".join(f"| {k} | {v:,} |\n" for k, v in _flat_ints(z).items()))
    callgrind = folder / "bridge_callgrind.json"
    if callgrind.exists():
        c = json.loads(callgrind.read_text())
        sections.append(f"### C bridge under callgrind\n\n{c.get('instructions_per_sample'):,} instructions per "
                        f"sample ({c.get('spec')}, {c.get('compiler')}).\n")
    tables = []
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            notes.append(f"{path.name}: unreadable JSON")
            continue
        if isinstance(data, dict) and isinstance(data.get("benchmarks"), list):
            tables += pytest_benchmark_tables(data, path.name)
    if tables:
        sections.append("### pytest-benchmark suites\n\n" + "\n\n".join(tables) + "\n")
    else:
        notes.append("no pytest-benchmark JSON")
    header = (f"Generated by `bench/make_tables.py results/bench` from the JSON that `make bench` "
              "writes; do not edit by hand.\n")
    return header + "\n" + "\n".join(sections), notes


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name} -->", f"<!-- /{name} -->"


def write_block(readme: Path, name: str, body: str) -> None:
    start, end = markers(name)
    text = readme.read_text()
    if start not in text:
        raise SystemExit(f"{readme}: no {start} marker; add one where that section belongs")
    head, rest = text.split(start, 1)
    tail = rest.split(end, 1)[1] if end in rest else rest
    readme.write_text(f"{head}{start}\n{body.rstrip()}\n{end}{tail if tail.startswith(chr(10)) else chr(10) + tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    parser.add_argument("--blocks", default=",".join([RESULTS, MODELS, *OWN_BLOCKS]),
                        help="the README blocks to write, comma-separated [default: all]")
    args = parser.parse_args(argv)
    blocks = set(args.blocks.split(","))
    if not args.folder.is_dir():
        print(f"{args.folder}: no such results folder; run `make bench` first", file=sys.stderr)
        return 2
    from edgekit.cli.models import readme_models_block

    notes: list[str] = []
    if RESULTS in blocks:
        body, notes = build(args.folder)
        write_block(args.readme, RESULTS, body)
    if MODELS in blocks:
        write_block(args.readme, MODELS, readme_models_block())
    for name, (file, script) in OWN_BLOCKS.items():
        source = args.folder / file
        if name not in blocks:
            continue
        if not source.exists():
            notes.append(f"no {file}")
        elif markers(name)[0] not in args.readme.read_text():
            notes.append(f"{file}: {args.readme} has no {markers(name)[0]} marker")
        else:
            write_block(args.readme, name, f"Generated by `bench/make_tables.py` from `{script}`'s results; do not "
                                           "edit by hand.\n\n" + source.read_text())
    for note in notes:
        print(f"skipped: {note}", file=sys.stderr)
    print(f"wrote the {', '.join(sorted(blocks))} blocks of {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
