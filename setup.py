"""Build steps pyproject.toml cannot express; all other metadata lives there.

- The C feature bridge's cffi extension (edgekit.bridge._ek_bridge) is compiled at install time
  (needs cffi in [build-system] requires), against the limited API, so one abi3 wheel serves
  every CPython >= 3.11.
- `recipes/`, `export/` and `firmware_bridge/` stay at the top of the repository, where users and
  the design expect them, and ship inside the package as data-only sub-packages; edgekit reads
  them with importlib.resources (edgekit/resources.py), in a wheel and in an editable install.
"""

from pathlib import Path

from setuptools import find_packages, setup

DATA_PACKAGES = {  # package name -> repository folder
    "edgekit.recipes": "recipes",
    "edgekit.export_profiles": "export",
    "edgekit.firmware_bridge": "firmware_bridge",
}
DATA_FILES = ["*.toml", "*.json", "*.c", "*.h", "*.S", "*.ld", "*.bin", "*.cmake", "CMakeLists.txt"]


def data_packages() -> dict[str, str]:
    """Every folder under the data folders as a package (setuptools ships data per package)."""
    found = {}
    for package, folder in DATA_PACKAGES.items():
        for sub in sorted(p for p in [Path(folder), *Path(folder).rglob("*")] if p.is_dir()):
            if "__pycache__" not in sub.parts:
                rel = sub.relative_to(folder).parts
                found[".".join((package, *rel))] = sub.as_posix()
    return found


DATA = data_packages()
setup(
    packages=find_packages(include=["edgekit", "edgekit.*"]) + list(DATA),
    package_dir=DATA,
    package_data={package: DATA_FILES for package in DATA},
    cffi_modules=["edgekit/bridge/build.py:ffibuilder"],
    options={"bdist_wheel": {"py_limited_api": "cp311"}},
)
