"""Which raw channels are an accelerometer's or a gyroscope's x/y/z axes, recognised by name for
the auto spec (`FeatureSpec.for_channels`).

A name is a stem, an optional `_` and the axis, in any case: `acc_x`, `accX` (Edge Impulse),
`ACCEL_X`, `gyrX` (Edge Impulse), `gyroX`, `body_gyro_x` (UCI-HAR). The stems are listed in order
of preference: a table holding both UCI-HAR's `total_acc_*` and `body_acc_*` reads gravity-including
`total_acc_*`, as before. One-letter stems (`ax`, `gx`) are not recognised: `ax` is as often an
axis, an angle or an arbitrary column as an accelerometer.
"""

from __future__ import annotations

from typing import Sequence

ACC_STEMS = ("acc", "total_acc", "body_acc", "accel", "accelerometer")
GYRO_STEMS = ("gyro", "body_gyro", "gyr", "gyroscope")
# gyro units the spec cannot take: its gyro is rad/s, and a deg/s signal 57x larger would read as
# out of its physical range (`GYRO_RANGE`) and be dropped as missing
DEGREE_UNITS = ("deg", "dps", "°")


def find_axes(channels: Sequence[str], stems: Sequence[str]) -> tuple[str, str, str] | None:
    """The channels named `<stem>[_]x/y/z` for the first stem that has all three, else None."""
    by_name: dict[str, str] = {}
    for channel in channels:
        by_name.setdefault(channel.lower(), channel)  # the first of names differing only in case
    for stem in stems:
        for sep in ("_", ""):
            axes = [by_name.get(f"{stem}{sep}{axis}") for axis in "xyz"]
            if all(axes):
                return axes[0], axes[1], axes[2]
    return None


def names_hint(stems: Sequence[str]) -> str:
    """`acc_x/y/z, accX/Y/Z, ...`: the names `find_axes` takes, for error messages and notes."""
    return ", ".join(f"{stem}_x/y/z" for stem in stems) + f" (also without '_', any case: {stems[0]}X/Y/Z)"


def in_degrees(unit: str) -> bool:
    return any(mark in unit.strip().lower() for mark in DEGREE_UNITS)
