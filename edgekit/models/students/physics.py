"""Which input channels the students' physics head reconstructs, chosen by name.

The seed note (`shared/seeds/002`) trains the head to redraw the body's motion at every time step:
gravity-free acceleration (x, y, z) and angular velocity (x, y, z), Smooth-L1 against the model's
(normalised) inputs. The channels are found by their names in the model's input, never by position:

- gravity-free acceleration: `linacc_*` (CMI schema: accelerometer minus the gravity the quaternion
  gives) or `body_acc_*` (UCI-HAR's body component, as raw channels or a spec's extra channels);
- angular velocity: `body_gyro_*` or `gyro_*` (a gyroscope) or `angvel_*` (CMI schema: derived from
  successive quaternions).

Both triples are needed; without them there is no physics target (`recon_chs = 0`, loss weight 0).
E.g. the `uci_har_default` feature spec has the gyroscope (`gyro_*`) but no body acceleration (its
`acc_*` is total acceleration), so it trains without the physics head; the auto spec keeps UCI-HAR's
`body_acc_*` as extra channels and gets it.
"""

from __future__ import annotations

from typing import Any, Sequence

GRAVITY_FREE_ACC = (("linacc_x", "linacc_y", "linacc_z"), ("body_acc_x", "body_acc_y", "body_acc_z"))
ANGULAR_VELOCITY = (("body_gyro_x", "body_gyro_y", "body_gyro_z"), ("gyro_x", "gyro_y", "gyro_z"),
                    ("angvel_x", "angvel_y", "angvel_z"))


def physics_targets(channels: Sequence[str]) -> tuple[int, ...]:
    """Indices in `channels` of [acc x, y, z, angular velocity x, y, z], or `()` when either is missing."""
    index = {name: i for i, name in enumerate(channels)}

    def first(options: tuple[tuple[str, ...], ...]) -> tuple[int, ...]:
        found = next((names for names in options if all(n in index for n in names)), ())
        return tuple(index[n] for n in found)

    acc, gyro = first(GRAVITY_FREE_ACC), first(ANGULAR_VELOCITY)
    return acc + gyro if acc and gyro else ()


def with_physics_targets(name: str, options: dict[str, Any], channels: Sequence[str]) -> dict[str, Any]:
    """Builder options for student `name` with its physics targets named from the input `channels`
    (unless the options already choose `recon_chs`); teachers' options pass through unchanged."""
    from edgekit.models.registry import get_entry

    if get_entry(name).kind != "student" or "recon_chs" in options:
        return options
    return {**options, "recon_chs": physics_targets(channels) or 0}
