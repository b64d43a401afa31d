"""The export issue's results table on UCI-HAR: teacher ensemble vs the distilled student in fp32,
INT8 and FP16 — accuracy on the official test split, size, params, MACs.

    .venv/bin/python bench/export_uci_har.py [RUN_DIR]     # default results/bench/uci_har/ensemble

RUN_DIR is the run `bench/train_uci_har.py` leaves (it must run first). The student is exported
twice through `edgekit.export.run.export_run` — the library behind `edgekit export` — once for
`cpu-int8` and once for `cpu-fp16` (both also write the fp32 model), with parity checks at every
step. Writes `results/bench/export_uci_har.{json,md}`; `bench/make_tables.py` puts the markdown
into the README.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgekit.export.run import export_run  # noqa: E402
from edgekit.formatting import format_bytes, format_count, format_percent  # noqa: E402
from edgekit.io import write_json_atomic, write_text_atomic  # noqa: E402
from edgekit.rundir import RunDir  # noqa: E402

OUT = ROOT / "results" / "bench"


def _ensemble_row(train_table: dict) -> dict:
    rows = {row["model"]: row for row in train_table["rows"]}
    return rows.get("ensemble (stacked)") or rows["ensemble (average)"]


def main(run_dir: Path) -> dict:
    run = RunDir(run_dir)
    train_table = json.loads((OUT / "train_uci_har.json").read_text())
    ensemble = _ensemble_row(train_table)
    student_meta = run.read_json(run.student / "model.json")
    student_row = next(r for r in train_table["rows"] if r["kind"] == "student" and "distilled" in r["model"])

    int8 = export_run(run.root, target="cpu-int8", out_dir=OUT / "export_uci_har")
    fp16 = export_run(run.root, target="cpu-fp16", out_dir=OUT / "export_uci_har")
    fp32_acc = int8["fp32"]["metrics"]["accuracy"]

    def row(name: str, accuracy: float, macro_f1: float, size: int | None, params: int, macs: int) -> dict:
        return {"model": name, "accuracy": accuracy, "macro_f1": macro_f1, "size_bytes": size, "params": params,
                "macs": macs, "vs_ensemble": accuracy / ensemble["test_accuracy"]}

    sizes = {p: (OUT / "export_uci_har" / f"student.{p}.onnx").stat().st_size for p in ("fp32", "int8", "fp16")}
    params, macs = student_row["params"], student_row["macs"]
    rows = [
        row(f"teacher {ensemble['model']}", ensemble["test_accuracy"], ensemble["test_macro_f1"], None,
            ensemble["params"], ensemble["macs"]),
        row(f"{student_meta['name']} fp32 ONNX", fp32_acc, int8["fp32"]["metrics"]["macro_f1"], sizes["fp32"], params, macs),
        row(f"{student_meta['name']} INT8 ONNX (QDQ, uint8 act.)", int8["int8"]["metrics"]["accuracy"],
            int8["int8"]["metrics"]["macro_f1"], sizes["int8"], params, macs),
        row(f"{student_meta['name']} FP16 ONNX", fp16["fp16"]["metrics"]["accuracy"],
            fp16["fp16"]["metrics"]["macro_f1"], sizes["fp16"], params, macs),
    ]
    result = {"run_dir": str(run.root), "rows": rows,
              "int8_drop_pp": 100 * (fp32_acc - int8["int8"]["metrics"]["accuracy"]),
              "int8_census": int8["int8"].get("census"), "validation_windows": int8["windows"]["validation"]}
    write_json_atomic(OUT / "export_uci_har.json", result)
    lines = ["| model | test acc % | macro-F1 % | size | params | MACs / window | vs ensemble |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['model']} | {format_percent(r['accuracy'], 2)} | {format_percent(r['macro_f1'], 2)} | "
                     f"{format_bytes(r['size_bytes']) or '–'} | {format_count(r['params'])} | {format_count(r['macs'])} | "
                     f"{format_percent(r['vs_ensemble'])} % |")
    lines.append("")
    lines.append(f"INT8 − fp32: {-result['int8_drop_pp']:+.2f} pp on {result['validation_windows']} X_test windows. "
                 "Command: `python bench/export_uci_har.py` after `python bench/train_uci_har.py`.")
    write_text_atomic(OUT / "export_uci_har.md", "\n".join(lines) + "\n")
    return result


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT / "uci_har" / "ensemble")
    print((OUT / "export_uci_har.md").read_text())
