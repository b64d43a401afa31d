"""The C99 firmware feature bridge from Python: spec -> C config (`config`), the cffi binding
(`binding.Bridge`, torch-free), golden vectors (`golden`) and cross builds (`toolchain`).

`from edgekit.bridge import Bridge` loads the compiled extension on first use only, so the
config and header generator work on machines without it."""

from __future__ import annotations

from typing import Any

__all__ = ["Bridge", "bridge_config", "generate_header"]


def __getattr__(name: str) -> Any:
    if name == "Bridge":
        from edgekit.bridge.binding import Bridge

        return Bridge
    if name in ("bridge_config", "generate_header"):
        from edgekit.bridge import config

        return getattr(config, name)
    raise AttributeError(f"module 'edgekit.bridge' has no attribute {name!r}")
