"""The device step of `edgekit export RUN --target cortex-m4`: after the INT8 files are written,
compile the one the device runs (the step model of a streamable student, else the window model)
into `<out>/cortex-m4/`, and check it against ONNX Runtime bit for bit on the held-out windows
with the host compiler. `edgekit bench <file> --target cortex-m4` runs it under QEMU."""

from __future__ import annotations

import tempfile
from pathlib import Path

from edgekit.device.check import check_exact
from edgekit.device.package import write_package
from edgekit.errors import EdgekitError
from edgekit.io import write_json_atomic

DEVICE_DIR = "cortex-m4"


def export_device(out: str | Path, int8_window: str | Path, int8_step: str | Path | None, validation,
                  max_windows: int = 16) -> dict:
    """Write the package and check it; `validation` is the export's held-out `Windows`."""
    source = Path(int8_step) if int8_step is not None and Path(int8_step).exists() else Path(int8_window)
    if not source.exists():
        raise EdgekitError(f"{source}: the INT8 model the device package compiles is missing")
    package = Path(out) / DEVICE_DIR
    report = write_package(source, package)
    sequences = list(validation.subset(max_windows, seed=4).sequences) if validation is not None else []
    if sequences:
        with tempfile.TemporaryDirectory() as tmp:
            report["host_check"] = check_exact(source, package, sequences, tmp)
        check = report["host_check"]
        write_json_atomic(package / "model.json", report)
        # bit-exact is the contract; a rare one-step difference (another CPU's ORT kernels) is reported,
        # anything that changes a class or exceeds one step fails
        if check["argmax_agreement"] < 1.0 or check["within_one_lsb_share"] < 1.0:
            raise EdgekitError(f"{package}: the generated C differs from onnxruntime on "
                               f"{check['outputs'] - check['identical_outputs']} of {check['outputs']} outputs (max "
                               f"|Δ| {check['max_abs_diff']:.3g}, argmax agreement {check['argmax_agreement']:.4f}); "
                               "please report it")
    return report
