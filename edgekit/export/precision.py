"""Precisions, the parity tolerance of each, and the parity verdict (torch-free).

Every export step ends with a parity check against the step before it; the allowed difference
depends on the precision of the step's output. A check passes when

    max |logits - reference| <= atol + rtol * max |reference|   and   argmax agreement >= min_agreement

(the relative term scales the tolerance with the logits' magnitude, as rounding errors do).
fp32 vs torch only reorders float operations; fp16 rounds to 11 bits; int8 is judged mostly by
agreement and by the accuracy report, because its logit error is set by the calibration ranges.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass

import numpy as np

from edgekit.errors import EdgekitError


class Precision(str, enum.Enum):
    FP32 = "fp32"
    FP16 = "fp16"
    INT8 = "int8"


@dataclass(frozen=True)
class Tolerance:
    atol: float
    rtol: float
    min_agreement: float  # fraction of rows whose top class matches the reference


TOLERANCES: dict[Precision, Tolerance] = {
    Precision.FP32: Tolerance(atol=1e-4, rtol=1e-5, min_agreement=0.999),
    Precision.FP16: Tolerance(atol=1e-2, rtol=1e-2, min_agreement=0.98),
    Precision.INT8: Tolerance(atol=0.5, rtol=0.25, min_agreement=0.90),
}

STEP_TOLERANCE = Tolerance(atol=1e-5, rtol=0.0, min_agreement=1.0)  # step model vs offline, fp32


@dataclass(frozen=True)
class Parity:
    """The comparison of one step's logits with its reference's."""

    what: str
    max_abs_diff: float
    reference_max_abs: float
    argmax_agreement: float
    rows: int
    tolerance: Tolerance

    @property
    def allowed_diff(self) -> float:
        return self.tolerance.atol + self.tolerance.rtol * self.reference_max_abs

    @property
    def ok(self) -> bool:
        return self.max_abs_diff <= self.allowed_diff and self.argmax_agreement >= self.tolerance.min_agreement

    def to_dict(self) -> dict:
        return {"what": self.what, "max_abs_diff": self.max_abs_diff, "allowed_diff": self.allowed_diff,
                "argmax_agreement": self.argmax_agreement, "rows": self.rows, "ok": self.ok,
                "tolerance": asdict(self.tolerance)}

    def require(self) -> "Parity":
        """Raise an `EdgekitError` with the numbers when past the tolerance."""
        if not self.ok:
            raise EdgekitError(
                f"parity failed for {self.what}: max |Δlogit| {self.max_abs_diff:.3g} (allowed "
                f"{self.allowed_diff:.3g}), argmax agreement {self.argmax_agreement:.4f} (required "
                f"{self.tolerance.min_agreement}) over {self.rows} rows")
        return self


def compare_logits(what: str, got: list[np.ndarray] | np.ndarray, want: list[np.ndarray] | np.ndarray,
                   tolerance: Tolerance) -> Parity:
    """Parity of logits `got` against the reference `want` (arrays `(N, K)` or lists of them)."""
    got = np.concatenate(got) if isinstance(got, list) else got
    want = np.concatenate(want) if isinstance(want, list) else want
    got, want = got.astype(np.float64), want.astype(np.float64)
    if got.shape != want.shape:
        raise EdgekitError(f"parity for {what}: logits of shape {got.shape} vs reference {want.shape}")
    return Parity(what, float(np.abs(got - want).max(initial=0.0)), float(np.abs(want).max(initial=0.0)),
                  float((got.argmax(-1) == want.argmax(-1)).mean()) if len(want) else 1.0, len(want), tolerance)
