"""The C build is described once: firmware_bridge/build.json holds the sources and flags that
CMake (every C build) and the cffi builder (the Python extension) both use; a C static assert
keeps the public state struct in step with the library; tests that need a tool .ci/run installs
fail under CI instead of skipping."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from importlib.resources import files
from pathlib import Path

import pytest

from edgekit.bridge import build
from edgekit.errors import EdgekitError
from edgekit.resources import bridge_dir
from tests.tools import require_tool


def test_build_json_lists_every_source():
    listed = build.build_settings()["sources"]
    on_disk = sorted(p.relative_to(bridge_dir()).as_posix() for p in (bridge_dir() / "src").glob("*.c"))
    assert sorted(listed) == on_disk, "firmware_bridge/build.json's sources must name every src/*.c"


def test_cffi_builder_compiles_what_cmake_compiles(tmp_path):
    """The library's compile commands from a CMake configure (compile_commands.json) against the
    cffi builder's set_source arguments: same files, and every cffi flag in every command."""
    require_tool("cmake")
    subprocess.run(["cmake", "--preset", "host", "-S", str(bridge_dir()), "-B", str(tmp_path),
                    "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON"], check=True, capture_output=True)
    commands = [c for c in json.loads((tmp_path / "compile_commands.json").read_text())
                if "/edgekit_bridge.dir/" in c["command"]]
    options = build.extension_options()
    assert sorted(Path(c["file"]).resolve() for c in commands) == sorted(Path(s).resolve() for s in options["sources"])
    for command in commands:
        args = shlex.split(command["command"])
        missing = [flag for flag in options["extra_compile_args"] if flag not in args]
        assert not missing, f"CMake compiles {command['file']} without {missing}"
        assert f"-I{options['include_dirs'][0]}" in args


def test_static_assert_catches_a_public_sections_array_too_short(tmp_path):
    """ek_internal.h refuses to compile when ek_bridge_t.sections cannot hold every section."""
    compiler = shutil.which("gcc") or shutil.which("cc")
    require_tool("gcc", found=compiler is not None)
    probe = tmp_path / "probe.c"
    probe.write_text('#include "ek_internal.h"\n')
    header = (bridge_dir() / "include" / "edgekit_bridge.h").read_text()
    assert header.count("sections[10]") == 1
    short = tmp_path / "short"
    short.mkdir()
    (short / "edgekit_bridge.h").write_text(header.replace("sections[10]", "sections[9]"))

    def compile_with(include: Path) -> subprocess.CompletedProcess:
        return subprocess.run([compiler, "-std=c99", "-fsyntax-only", f"-I{include}", f"-I{bridge_dir() / 'src'}",
                               str(probe)], capture_output=True, text=True)

    assert compile_with(bridge_dir() / "include").returncode == 0
    refused = compile_with(short)
    assert refused.returncode != 0 and "ek_sections_fit_in_ek_bridge_t" in refused.stderr


def test_ensure_built_never_writes_an_installed_package(monkeypatch):
    assert build.is_source_checkout()  # this editable checkout
    installed = Path(str(files("edgekit"))) / "firmware_bridge"  # where a wheel puts the sources
    monkeypatch.setattr(build, "_bridge_dir", lambda: installed)
    monkeypatch.setattr(build, "extension_is_fresh", lambda: False)
    assert not build.is_source_checkout()
    assert build.ensure_built() is None
    with pytest.raises(EdgekitError, match="installed package"):
        build.build_inplace()


def test_require_tool_skips_on_a_developer_machine_and_fails_under_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no-such-tool-x not installed"):
        require_tool("no-such-tool-x")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must provide"):
        require_tool("no-such-tool-x")
    require_tool("python3", found=True)  # present: returns
