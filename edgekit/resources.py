"""The data folders edgekit ships: recipes, export target profiles and the C bridge sources.

In the repository they stay where users and the design expect them (`recipes/`, `export/`,
`firmware_bridge/` at the top level). The build maps each one into the package as a data-only
sub-package (`pyproject.toml`, `[tool.setuptools.package-dir]`), so a wheel carries them and an
editable install reads the repository's own folders; code finds them only through
`importlib.resources`, never through paths relative to a source file.

    recipes_dir()         edgekit.recipes          <- recipes/
    export_profiles_dir() edgekit.export_profiles  <- export/
    bridge_dir()          edgekit.firmware_bridge  <- firmware_bridge/

These folders are read-only: nothing is ever written into the installed package. Commands that
build or generate files write under their `--out`, or under `cache_dir()` when none is given.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from edgekit.errors import EdgekitError

RECIPES = "edgekit.recipes"
EXPORT_PROFILES = "edgekit.export_profiles"
FIRMWARE_BRIDGE = "edgekit.firmware_bridge"


def _folder(package: str) -> Path:
    """A shipped folder as a real directory (compilers and CMake need paths, not Traversables)."""
    try:
        root = resources.files(package)
    except ModuleNotFoundError:
        raise EdgekitError(f"edgekit's data package {package} is missing: reinstall edgekit "
                           "(pip install edgekit, or `make install` in a checkout)") from None
    path = Path(str(root))
    if not path.is_dir():
        raise EdgekitError(f"edgekit's data package {package} is not a folder on disk ({root}); "
                           "install edgekit unzipped (pip does by default)")
    return path


def recipes_dir() -> Path:
    return _folder(RECIPES)


def export_profiles_dir() -> Path:
    return _folder(EXPORT_PROFILES)


def bridge_dir() -> Path:
    return _folder(FIRMWARE_BRIDGE)


def cache_dir(*parts: str) -> Path:
    """edgekit's user cache (`platformdirs`; `EDGEKIT_CACHE_DIR` overrides it), created on use:
    the default place for build trees and generated files when a command gets no `--out`."""
    override = os.environ.get("EDGEKIT_CACHE_DIR")
    if override:
        base = Path(override)
    else:
        from platformdirs import user_cache_dir

        base = Path(user_cache_dir("edgekit"))
    path = base.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
