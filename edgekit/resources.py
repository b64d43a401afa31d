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


# --- the shipped recipes -----------------------------------------------------------------------
def list_recipes() -> list[str]:
    """Names of the shipped recipes, `<dataset>/<name>` (e.g. `sim/quickstart`)."""
    root = recipes_dir()
    return sorted(p.relative_to(root).with_suffix("").as_posix() for p in root.rglob("*.toml"))


def shipped_recipe(name: str) -> Path | None:
    """The shipped recipe file called `name`: `sim/quickstart`, `sim/quickstart.toml` or the
    repository spelling `recipes/sim/quickstart.toml` (so each recipe's first-line command works
    from any directory); None when there is no such recipe."""
    key = name.removeprefix("recipes/").removesuffix(".toml")
    return recipes_dir() / f"{key}.toml" if key in list_recipes() else None


def recipe_summary(path: Path) -> str:
    """A recipe's first line without the comment mark: the command that runs it."""
    first = path.read_text(encoding="utf-8").splitlines()[:1]
    return first[0].lstrip("# ").strip() if first and first[0].startswith("#") else ""


def copy_recipe(name: str, dest: Path | str, *, force: bool = False) -> Path:
    """Copy a shipped recipe out to edit it; `dest` is a file or an existing folder. Refuses to
    overwrite an existing file unless `force`."""
    source = shipped_recipe(name)
    if source is None:
        raise EdgekitError(f"no shipped recipe {name!r}; available: {', '.join(list_recipes())}")
    dest = Path(dest)
    target = dest / source.name if dest.is_dir() else dest
    if target.suffix != ".toml":
        raise EdgekitError(f"{target}: expected a .toml file name or an existing folder")
    if target.exists() and not force:
        raise EdgekitError(f"{target} exists; pass --force to overwrite it")
    if not target.parent.is_dir():
        raise EdgekitError(f"{target.parent}: no such folder")
    from edgekit.io import write_text_atomic

    write_text_atomic(target, source.read_text(encoding="utf-8"))
    return target
