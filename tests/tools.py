"""Helpers for tests that need a system tool (`from tests.tools import require_tool`)."""

from __future__ import annotations

import os
import shutil

import pytest


def in_ci() -> bool:
    """CI sets `CI` (GitHub Actions, GitLab, most others: `true`)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require_tool(tool: str, *, found: bool | None = None, install: str | None = None) -> None:
    """Stop the calling test when `tool` is missing: a visible skip on a developer machine, a
    failure under CI, where `.ci/run` installs every tool the tests use (cmake, gcc,
    arm-none-eabi-gcc, qemu-system-arm, clang and its libFuzzer runtime, valgrind), so a missing
    one means a broken set-up whose tests would otherwise silently not run. `found` defaults to
    `tool` being on PATH; `install` to how Debian provides it."""
    if found is None:
        found = shutil.which(tool) is not None
    if found:
        return
    if install is None:
        from edgekit.bridge.toolchain import install_hint

        install = install_hint(tool)
    message = f"{tool} not installed ({install})"
    if in_ci():
        pytest.fail(f"{message}: CI must provide every tool .ci/run installs", pytrace=False)
    pytest.skip(message)
