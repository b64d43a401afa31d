"""The tolerance verdict of a reduced-precision model, and what happens when it misses.

A quantized file is judged against its fp32 parent by a few checks (argmax agreement, logit
difference, accuracy drop; for step models agreement at every step and at the last one), each with
its limit from `precision.TOLERANCES` or the export profile. A file that misses any of them is
removed and the export fails naming the file, the measured values and the limits, unless the user
accepted that with `--allow-drift`: then the file is kept and its metadata says which check it
misses (`edgekit.drift`), so `edgekit stream` and `edgekit bench` warn whoever runs it later.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgekit.errors import EdgekitError
from edgekit.export.metadata import mark_drift
from edgekit.export.precision import Parity


@dataclass(frozen=True)
class Check:
    """One measured number against its limit: at least `limit` (agreements) or at most (differences)."""

    name: str
    measured: float
    limit: float
    at_least: bool = True

    @property
    def ok(self) -> bool:
        return bool(self.measured >= self.limit if self.at_least else self.measured <= self.limit)

    def __str__(self) -> str:
        return f"{self.name} {self.measured:.4g} ({'>=' if self.at_least else '<='} {self.limit:.4g} required)"

    def to_dict(self) -> dict:
        return {"name": self.name, "measured": float(self.measured), "limit": float(self.limit),
                "at_least": self.at_least, "ok": self.ok}


class ToleranceError(EdgekitError):
    """A reduced-precision file missed its tolerance and was removed (`settle`)."""


def parity_checks(parity: Parity, reference: str = "fp32") -> list[Check]:
    return [Check(f"argmax agreement with {reference}", parity.argmax_agreement, parity.tolerance.min_agreement),
            Check(f"max |logit - {reference}|", parity.max_abs_diff, parity.allowed_diff, at_least=False)]


def settle(path: str | Path, what: str, checks: list[Check], allow_drift: bool, advice: str = "") -> dict:
    """Apply the verdict of `checks` to the file at `path`; returns the report's `tolerance` part.

    Missed and not allowed: the file is removed and a `ToleranceError` names it with the numbers.
    Missed and allowed: the file stays, marked in its metadata; `drift` in the result says how.
    """
    missed = [c for c in checks if not c.ok]
    drift = f"{what} misses its tolerance: {'; '.join(str(c) for c in missed)}" if missed else None
    if drift and not allow_drift:
        Path(path).unlink(missing_ok=True)
        raise ToleranceError(f"{path}: {drift}; the file was removed ({advice + ', or ' if advice else ''}"
                           "pass --allow-drift to keep it, marked as drifting in its metadata)")
    if drift:
        mark_drift(path, drift)
    return {"checks": [c.to_dict() for c in checks], "ok": not missed, "drift": drift}
