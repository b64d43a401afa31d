"""FeatureSpec -> C config: the plan, the generated header, the refusals on both sides, the ABI check."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from edgekit.bridge import Bridge, binding
from edgekit.bridge import config as cfgmod
from edgekit.bridge.binding import CConfig, ffi, lib
from edgekit.bridge.golden import kitchen_sink_spec
from edgekit.bridge.build import extension_options
from edgekit.bridge.golden import committed_golden_dir
from edgekit.errors import SpecError
from edgekit.features import FeatureSpec, InputSpec

SPECS = {"cmi": FeatureSpec.cmi_default, "uci": FeatureSpec.uci_har_default, "kitchen": kitchen_sink_spec}


@pytest.mark.parametrize("name", SPECS)
def test_plan_names_hash_and_workspace(name):
    spec = SPECS[name]()
    bc = cfgmod.bridge_config(spec)
    assert bc.names == spec.names() and bc.n_features == len(spec.names())
    bridge = Bridge(spec)
    assert bridge.spec_hash == spec.hash()
    assert bridge.workspace_words == bc.workspace_words(), "Python's sum of EK_*_WORDS != the C layout"
    assert bridge.push(np.zeros(bc.n_inputs, np.float32)).shape == (bc.n_features,)


def test_default_spec_fits_the_ram_goal():
    assert Bridge(FeatureSpec.cmi_default()).state_bytes <= 2048 + 16  # host pointers are 8 bytes


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")
@pytest.mark.parametrize("name", SPECS)
def test_generated_header_compiles_and_matches(name, tmp_path):
    spec = SPECS[name]()
    header = tmp_path / f"ek_spec_{name}.h"
    header.write_text(cfgmod.generate_header(spec, name))
    prog = tmp_path / "check.c"
    upper = name.upper()
    prog.write_text(f'#include "ek_spec_{name}.h"\n#include <stdio.h>\nint main(void) {{\n'
                    f'  printf("%u %u %d\\n", (unsigned)(EK_SPEC_{upper}_WORKSPACE_WORDS), '
                    f'(unsigned)ek_bridge_workspace_words(&ek_spec_{name}), (int)ek_bridge_config_check(&ek_spec_{name}));\n'
                    "  return 0; }\n")
    c = extension_options()  # build.json's sources and flags
    exe = tmp_path / "check"
    subprocess.run(["gcc", *c["extra_compile_args"], "-Wall", "-Werror", *(f"-I{d}" for d in c["include_dirs"]),
                    f"-I{tmp_path}", str(prog), *c["sources"], "-lm", "-o", str(exe)], check=True, capture_output=True)
    macro, runtime, status = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()
    assert int(status) == 0 and int(macro) == int(runtime) == cfgmod.bridge_config(spec).workspace_words()


def test_committed_headers_are_current():
    for name, make in SPECS.items():
        assert (committed_golden_dir() / f"ek_spec_{name}.h").read_text() == cfgmod.generate_header(make(), name), (
            f"golden/ek_spec_{name}.h is stale: run `edgekit bridge golden --out firmware_bridge/golden`")


def test_python_refuses_what_the_c_cannot_compute():
    from edgekit.features import RollingStats
    from edgekit.features.spec import Families

    nine_thermopiles = FeatureSpec(inputs=InputSpec(rot=None, thm=tuple(f"t{k}" for k in range(9))),
                                   families=Families())
    with pytest.raises(SpecError, match="thermopiles"):
        cfgmod.bridge_config(nine_thermopiles)
    with pytest.raises(SpecError, match="window"):
        cfgmod.bridge_config(FeatureSpec.cmi_default().with_families(rolling=(RollingStats(("acc_mag",), (5000,)),)))


MUTATIONS = {
    "abi": (lambda c: setattr(c, "abi_version", 99), -2),
    "hash": (lambda c: setattr(c, "spec_hash", b"XYZ"), -12),
    "n_inputs": (lambda c: setattr(c, "n_inputs", c.n_inputs + 1), -3),
    "dt": (lambda c: setattr(c, "sample_period_s", float("nan")), -4),
    "policy": (lambda c: setattr(c, "nan_policy", 2), -5),
    "mirror": (lambda c: c.mirror.__setattr__("acc_sign", [2, 1, 1]), -6),
    "signal": (lambda c: setattr(c.rings[0], "signal", 90), -7),
    "window": (lambda c: setattr(c.rings[0], "capacity", 0), -8),
    "tracker": (lambda c: setattr(c.moments[0], "ring", 999), -9),
    "output": (lambda c: setattr(c.outputs[0], "kind", 77), -10),
    "bins": (lambda c: c.dft[0].bins.__setitem__(0, 13), -11),
    "features": (lambda c: setattr(c, "n_features", 0), -10),
    "max_is_min": (lambda c: setattr(c.extrema[0], "is_max", 0), -9),
}


@pytest.mark.parametrize("mutation", MUTATIONS)
def test_c_init_refuses_invalid_configs(mutation):
    apply, expected = MUTATIONS[mutation]
    cc = CConfig(cfgmod.bridge_config(FeatureSpec.cmi_default()))
    words = lib.ek_bridge_workspace_words(cc.ptr)
    apply(cc.ptr)
    assert lib.ek_bridge_config_check(cc.ptr) == expected
    assert lib.ek_bridge_workspace_words(cc.ptr) == 0
    ws, state = ffi.new("ek_word_t[]", words), ffi.new("ek_bridge_t *")
    assert lib.ek_bridge_init(state, cc.ptr, 1, ws, words * 4) == expected


def test_c_init_refuses_small_workspace_and_bad_handedness():
    cc = CConfig(cfgmod.bridge_config(FeatureSpec.cmi_default()))
    words = lib.ek_bridge_workspace_words(cc.ptr)
    ws, state = ffi.new("ek_word_t[]", words), ffi.new("ek_bridge_t *")
    assert lib.ek_bridge_init(state, cc.ptr, 1, ws, words * 4 - 4) == -13
    assert lib.ek_bridge_init(state, cc.ptr, 2, ws, words * 4) == -14
    assert lib.ek_bridge_init(ffi.NULL, cc.ptr, 1, ws, words * 4) == -1
    assert lib.ek_bridge_init(state, cc.ptr, 0, ws, words * 4) == 0


def test_abi_mismatch_fails_with_the_rebuild_command(monkeypatch):
    monkeypatch.setattr(cfgmod, "ABI_VERSION", cfgmod.ABI_VERSION + 1)
    with pytest.raises(binding.BridgeAbiError, match="pip install -e"):
        binding._check_abi()


def test_binding_is_torch_free():
    code = ("import sys; import edgekit.bridge.binding as b; from edgekit.features import FeatureSpec;"
            "b.Bridge(FeatureSpec.cmi_default()); assert 'torch' not in sys.modules")
    subprocess.run([__import__("sys").executable, "-c", code], check=True)


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")
def test_a_spec_without_state_gets_one_workspace_word_in_the_header_and_the_library(tmp_path):
    spec = FeatureSpec.for_channels(["acc_x", "acc_y", "acc_z"], 0.02).inputs_only()
    bc = cfgmod.bridge_config(spec)
    assert bc.state_words() == 0 and bc.workspace_words() == 1
    assert int(lib.ek_bridge_workspace_words(CConfig(bc).ptr)) == 1  # 0 would read as "refused"
    header = tmp_path / "ek_spec_raw.h"
    header.write_text(cfgmod.generate_header(spec, "raw"))
    prog = tmp_path / "check.c"
    prog.write_text('#include "ek_spec_raw.h"\n#include <stdio.h>\nstatic ek_word_t ws[EK_SPEC_RAW_WORKSPACE_WORDS];\n'
                    "int main(void) {\n  ek_bridge_t b;\n"
                    '  printf("%u %d\\n", (unsigned)(EK_SPEC_RAW_WORKSPACE_WORDS), '
                    "(int)ek_bridge_init(&b, &ek_spec_raw, EK_RIGHT_HANDED, ws, sizeof ws));\n  return 0; }\n")
    c = extension_options()
    exe = tmp_path / "check"
    subprocess.run(["gcc", *c["extra_compile_args"], "-Wall", "-Werror", "-pedantic", *(f"-I{d}" for d in c["include_dirs"]),
                    f"-I{tmp_path}", str(prog), *c["sources"], "-lm", "-o", str(exe)], check=True, capture_output=True)
    words, status = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()
    assert (int(words), int(status)) == (1, 0)
