"""Step 2b of the export chain: fp32 ONNX → FP16 ONNX (float32 inputs and outputs).

`onnxconverter_common.float16.convert_float_to_float16` with `keep_io_types=True`, so callers
and the runtime keep feeding float32 raw features; weights and activations become float16, which
halves the file. onnxruntime's CPU provider lacks fp16 kernels for some ops and inserts casts
around them; the parity check (fp16 tolerance) runs on whatever it picks.
"""

from __future__ import annotations

from pathlib import Path

import onnx

from edgekit.errors import EdgekitError
from edgekit.export.metadata import copy_metadata
from edgekit.export.precision import Precision
from edgekit.export.quantize import accuracy_report, check_against_fp32
from edgekit.export.windows import Windows
from edgekit.io import atomic_path


def convert_fp16_file(fp32_path: str | Path, fp16_path: str | Path) -> None:
    try:
        from onnxconverter_common import float16
    except ImportError:
        raise EdgekitError("FP16 export needs onnxconverter-common: pip install onnxconverter-common") from None
    model = float16.convert_float_to_float16(onnx.load(str(fp32_path)), keep_io_types=True)
    with atomic_path(fp16_path) as tmp:
        onnx.save(model, str(tmp))
        copy_metadata(fp32_path, tmp, Precision.FP16)


def convert_fp16(fp32_path: str | Path, fp16_path: str | Path, validation_windows: Windows,
                 max_accuracy_drop_pp: float = 0.5) -> dict:
    """Convert, then check parity with the fp32 file (fp16 tolerance) and report accuracy and size."""
    convert_fp16_file(fp32_path, fp16_path)
    parity, fp32_logits, fp16_logits = check_against_fp32(fp32_path, fp16_path, validation_windows, Precision.FP16)
    report = {"path": str(fp16_path), "size_bytes": Path(fp16_path).stat().st_size,
              "fp32_size_bytes": Path(fp32_path).stat().st_size, "parity": parity.to_dict()}
    report.update(accuracy_report(fp32_logits, fp16_logits, validation_windows.labels, max_accuracy_drop_pp, "fp16"))
    return report
