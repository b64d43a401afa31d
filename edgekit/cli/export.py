"""`edgekit export RUN_DIR [--int8|--fp16] [--target PROFILE] [--out DIR] [--qat] [--allow-drift] [--json]`."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from edgekit.cli.render import console, emit_json, table
from edgekit.formatting import format_bytes, format_percent


@click.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--int8", "shortcut", flag_value="cpu-int8", help="Shortcut for --target cpu-int8.")
@click.option("--fp16", "shortcut", flag_value="cpu-fp16", help="Shortcut for --target cpu-fp16.")
@click.option("--target", default=None, help="Export profile: a shipped name (cpu-fp32, cpu-int8, cpu-fp16, trt-fp16, trt-int8, "
              "cortex-m4: the INT8 student compiled to C99 with the feature bridge) or a .toml path. "
              "Default: cpu-fp32.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder. Default: RUN_DIR/export.")
@click.option("--qat", is_flag=True, help="Fine-tune with fake quantization before INT8 quantization.")
@click.option("--qat-epochs", type=click.IntRange(min=1), default=3, show_default=True)
@click.option("--data", type=click.Path(exists=True, path_type=Path), default=None,
              help="Training data to rebuild the calibration/validation windows from (default: the recipe's).")
@click.option("--allow-drift", is_flag=True,
              help="Keep an INT8 model that misses the profile's tolerance (marked as drifting in its metadata; "
                   "stream and bench warn) instead of failing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def export(run_dir: Path, shortcut: str | None, target: str | None, out_dir: Path | None, qat: bool,
           qat_epochs: int, data: Path | None, allow_drift: bool, as_json: bool) -> None:
    """Export a run's student: ONNX with folded normalization and metadata, INT8/FP16, engines."""
    from edgekit.errors import EdgekitError
    from edgekit.export.qat import QatOptions
    from edgekit.export.run import DEFAULT_OUT, export_run
    from edgekit.paths import ensure_writable_dir

    if shortcut and target and shortcut != target:
        raise EdgekitError(f"--{shortcut.split('-')[1]} means --target {shortcut}; it conflicts with --target {target}")
    ensure_writable_dir(out_dir or run_dir / DEFAULT_OUT, "--out")  # before the windows are rebuilt
    report = export_run(run_dir, target=target or shortcut or "cpu-fp32", out_dir=out_dir, qat=qat,
                        qat_options=QatOptions(epochs=qat_epochs), data=data, allow_drift=allow_drift)
    if as_json:
        emit_json(report)
        return
    _render(report)


def _render(report: dict) -> None:
    rows = []
    for key in ("fp32", "int8", "fp16", "step_fp32", "step_int8"):
        part = report.get(key)
        if not part:
            continue
        parity = part.get("parity", {})
        acc = part.get(f"accuracy_{key}") if key in ("int8", "fp16") else (part.get("metrics") or {}).get("accuracy")
        agreement = parity.get("argmax_agreement", part.get("argmax_agreement_per_step"))
        rows.append([key, Path(part["path"]).name, format_bytes(part["size_bytes"]), parity.get("max_abs_diff"),
                     agreement, format_percent(acc, digits=2)])
    table(f"Export of {report['model']} for {report['target']['name']}",
          ["model", "file", "size", "max |Δlogit|", "argmax agreement", "accuracy %"], rows)
    int8 = report.get("int8")
    if int8:
        census = int8["runtime_census"]
        console.print(f"INT8 op census (onnxruntime): {census['integer']} integer, {census['float']} float nodes; "
                      f"accuracy drop {int8['accuracy_drop_pp']:.2f} pp" if int8.get("accuracy_drop_pp") is not None
                      else f"INT8 op census (onnxruntime): {census['integer']} integer, {census['float']} float nodes")
        if int8.get("advice"):
            console.print(f"[yellow]{int8['advice']}[/yellow]")
    for key in ("int8", "step_int8"):
        drift = ((report.get(key) or {}).get("tolerance") or {}).get("drift")
        if drift:
            console.print(f"[yellow]kept with --allow-drift: {escape(Path(report[key]['path']).name)}: "
                          f"{escape(drift)}[/yellow]")
    if report.get("engine"):
        engine = report["engine"]
        console.print(f"TensorRT engine {engine['path']}: {format_bytes(engine['size_bytes'])}, "
                      f"layer precisions {engine['layer_precisions']}")
    device = report.get("device")
    if device:
        check = device.get("host_check") or {}
        exact = (f"; host check: {check['identical_outputs']}/{check['outputs']} outputs identical to onnxruntime"
                 if check else "")
        console.print(f"C99 package for Cortex-M4: {escape(str(device.get('package', '')))}{exact}")
    console.print(f"report: {report['report_path']}")
