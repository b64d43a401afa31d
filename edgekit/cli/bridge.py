"""`edgekit bridge build|golden|header|size`: the C99 feature bridge.

Every command writes under its `--out`, or when none is given under edgekit's user cache
(`EDGEKIT_CACHE_DIR` moves it; `header`: the working directory), never into the installed
package, and says where it wrote."""

from __future__ import annotations

from pathlib import Path

import click

from edgekit.cli.render import emit_json, table

OUT = click.Path(file_okay=False, path_type=Path)
MODEL = click.Path(exists=True, path_type=Path)


@click.group()
def bridge() -> None:
    """Build the C feature bridge, write its golden vectors, report its Cortex-M4F footprint."""


@bridge.command()
@click.option("--target", type=click.Choice(["host", "cortex-m4"]), default="host", show_default=True)
@click.option("--out", type=OUT, default=None,
              help="Build folder; CMake builds into bridge-host/ or bridge-m4/ inside it "
                   "[default: bridge/ in edgekit's user cache].")
@click.option("--run", is_flag=True, help="Also run the golden-vector test (under QEMU for cortex-m4).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def build(target: str, out: Path | None, run: bool, as_json: bool) -> None:
    """Build the library (and, in a source checkout, refresh the Python extension for host) plus
    the golden-vector test, with CMake."""
    from edgekit.bridge.toolchain import build_target
    from edgekit.resources import cache_dir

    report = build_target(target, out or cache_dir("bridge"), run=run)
    if as_json:
        emit_json(report)
    else:
        table(f"bridge build ({target}) in {report['build_dir']}", ["", "value"],
              [[k, "\n".join(v) if isinstance(v, list) else v] for k, v in report.items()])
    if run and report.get("golden_exit_status", 0) != 0:
        raise SystemExit(1)


@bridge.command()
@click.option("--out", type=OUT, default=None,
              help="Folder for the vectors [default: golden/ in edgekit's user cache]. The committed "
                   "vectors the C tests embed are firmware_bridge/golden/: to update them in a checkout, "
                   "pass --out firmware_bridge/golden.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def golden(out: Path | None, as_json: bool) -> None:
    """Write the golden input/output vectors and config headers from the Python reference."""
    from edgekit.bridge.golden import write_golden

    paths = write_golden(out)
    rows = [[str(p), p.stat().st_size] for p in paths]
    total = sum(n for _, n in rows)
    if as_json:
        emit_json({"out_dir": str(paths[0].parent), "files": [{"path": p, "bytes": n} for p, n in rows],
                   "total_bytes": total})
    else:
        table(f"golden vectors written to {paths[0].parent}", ["file", "bytes"], rows + [["total", total]])


@bridge.command()
@click.argument("model", metavar="RUN_DIR|MODEL.onnx", type=MODEL)
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Header file, or a folder to write it in [default: ./ek_spec_<name>.h].")
@click.option("--name", default=None,
              help="C name of the config (ek_spec_<name>) [default: the run's folder or the model file's name].")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def header(model: Path, out: Path | None, name: str | None, as_json: bool) -> None:
    """Write the bridge configuration header ek_spec_<name>.h for exactly the FeatureSpec that a run
    directory or an exported edgekit ONNX model was trained on, with its hash."""
    from edgekit.bridge.model_spec import load_model_spec, write_spec_header

    report = write_spec_header(load_model_spec(model), out or Path.cwd(), name)
    if as_json:
        emit_json(report)
        return
    table(f"bridge header written to {report['header']}", ["", "value"], [
        ["from", report["source"]],
        ["config", report["config"]],
        [report["hash_macro"], report["spec_hash"]],
        ["inputs", report["n_inputs"]],
        ["features", report["n_features"]],
        ["workspace words", report["workspace_words"]],
    ])


@bridge.command()
@click.option("--opt", type=click.Choice(["-O2", "-Os"]), default="-O2", show_default=True)
@click.option("--spec", "spec_path", metavar="RUN_DIR|MODEL.onnx|SPEC.json", type=MODEL, default=None,
              help="Measure the spec of this run, model or FeatureSpec JSON [default: FeatureSpec.cmi_default()].")
@click.option("--out", type=OUT, default=None,
              help="CMake build folder for the probes [default: bridge/size/ in edgekit's user cache].")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def size(opt: str, spec_path: Path | None, out: Path | None, as_json: bool) -> None:
    """Flash (text + data) and RAM per stream on Cortex-M4F for the default spec or --spec."""
    from edgekit.bridge.model_spec import load_model_spec
    from edgekit.bridge.toolchain import m4_size_report
    from edgekit.resources import cache_dir

    spec = load_model_spec(spec_path, spec_json=True).spec if spec_path is not None else None
    report = m4_size_report(out or cache_dir("bridge", "size"), opt, spec).as_dict()
    if as_json:
        emit_json(report)
        return
    table(f"bridge on Cortex-M4F ({opt}), spec {report['spec_hash']}, built in {report['build_dir']}",
          ["", "bytes", "goal"], [
              ["flash: bridge + libm + config", report["flash_bytes"], "<= 16384"],
              ["flash: all library objects", report["library_text_bytes"] + report["library_data_bytes"], ""],
              ["RAM: ek_bridge_t", report["ram_state_bytes"], ""],
              ["RAM: workspace", report["ram_workspace_bytes"], ""],
              ["RAM per stream", report["ram_per_stream_bytes"], "<= 2048"],
              ["stack of ek_bridge_push", report["stack_bytes_push"], ""],
          ])
