"""`edgekit bridge header RUN_DIR|MODEL.onnx` and `edgekit bridge size --spec`: the firmware header
and the Cortex-M4F footprint of exactly the spec a shipped model was trained on."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import onnx
import pytest
from click.testing import CliRunner
from onnx import TensorProto, helper

from edgekit.bridge.build import extension_options
from edgekit.bridge.config import bridge_config, generate_header
from edgekit.cli import main
from edgekit.export.metadata import model_metadata, set_props
from edgekit.features import FeatureSpec
from edgekit.runtime.metadata import KIND_WINDOW, ModelInfo
from tests.tools import require_tool

RUN_SPEC = FeatureSpec.uci_har_default()  # neither is the default spec `bridge size` measures
MODEL_SPEC = FeatureSpec.cmi_default().with_families(jerk=None, correlation=None)


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    """A run directory as `edgekit train` leaves it (feature_spec.json) and an ONNX file carrying
    the metadata the exporter writes (`edgekit.export.metadata`), on an Identity graph."""
    root = tmp_path_factory.mktemp("models")
    run = root / "my-run 2"
    run.mkdir()
    (run / "feature_spec.json").write_text(RUN_SPEC.to_json())
    (run / "data.json").write_text(json.dumps({"class_names": ["a", "b"], "train_ids_digest": "0"}))
    info = ModelInfo.from_spec("tiny", MODEL_SPEC, ("a", "b"), 4)
    meta = model_metadata(info, kind=KIND_WINDOW, precision="int8", inputs=("features",), outputs=("logits",))
    x = helper.make_tensor_value_info("features", TensorProto.FLOAT, [1, 2])
    y = helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2])
    graph = helper.make_graph([helper.make_node("Identity", ["features"], ["logits"])], "g", [x], [y])
    model = root / "gesture.int8.onnx"
    onnx.save(set_props(helper.make_model(graph), meta), str(model))
    return {"run": run, "onnx": model}


def _invoke(*args) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["bridge", *map(str, args)])
    return result.exit_code, result.output


def test_header_of_a_run_and_of_a_model_is_the_generators(models, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for source, spec, name in ((models["run"], RUN_SPEC, "my_run_2"), (models["onnx"], MODEL_SPEC, "gesture")):
        code, output = _invoke("header", source, "--json")
        assert code == 0, output
        report = json.loads(output)
        written = tmp_path / f"ek_spec_{name}.h"  # default: the working directory, the sanitized name
        assert report["header"] == str(written) and report["spec_hash"] == spec.hash()
        text = written.read_text()
        assert text == generate_header(spec, name)
        assert f'#define EK_SPEC_{name.upper()}_HASH "{spec.hash()}"' in text
    code, output = _invoke("header", models["onnx"], "--name", "fw", "--out", tmp_path / "inc" / "model.h")
    assert code == 0, output
    assert (tmp_path / "inc" / "model.h").read_text() == generate_header(MODEL_SPEC, "fw")


def test_headers_compile_with_the_bridge_and_init(models, tmp_path):
    require_tool("gcc")
    checks = []
    for source, name in ((models["run"], "run"), (models["onnx"], "model")):
        assert _invoke("header", source, "--name", name, "--out", tmp_path)[0] == 0
        checks.append(f'  printf("%d %s %u\\n", (int)ek_bridge_config_check(&ek_spec_{name}), EK_SPEC_{name.upper()}_HASH, '
                      f"(unsigned)ek_bridge_workspace_words(&ek_spec_{name}));\n")
    prog = tmp_path / "check.c"
    prog.write_text('#include <stdio.h>\n#include "ek_spec_run.h"\n#include "ek_spec_model.h"\nint main(void) {\n'
                    + "".join(checks) + "  return 0; }\n")
    c = extension_options()  # build.json's sources and flags, as the bridge's own header test builds
    exe = tmp_path / "check"
    subprocess.run(["gcc", *c["extra_compile_args"], "-Wall", "-Werror", *(f"-I{d}" for d in c["include_dirs"]),
                    f"-I{tmp_path}", str(prog), *c["sources"], "-lm", "-o", str(exe)], check=True, capture_output=True)
    lines = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split("\n")
    for line, spec in zip(lines, (RUN_SPEC, MODEL_SPEC)):
        assert line.split() == ["0", spec.hash(), str(bridge_config(spec).workspace_words())]


def test_size_measures_the_given_spec(models, tmp_path):
    for tool in ("cmake", "arm-none-eabi-gcc"):
        require_tool(tool)
    code, output = _invoke("size", "--spec", models["run"], "--out", tmp_path / "size", "--json")
    assert code == 0, output
    report = json.loads(output)
    assert report["spec_hash"] == RUN_SPEC.hash() != FeatureSpec.cmi_default().hash()
    # the probe's workspace is the measured spec's EK_SPEC_*_WORKSPACE_WORDS, not the default's
    assert report["ram_workspace_bytes"] == 4 * bridge_config(RUN_SPEC).workspace_words()
    assert report["flash_bytes"] > 0 and report["ram_state_bytes"] > 0


@pytest.mark.parametrize("command", [("header",), ("size", "--spec")])
def test_a_file_that_is_no_model_is_one_line_naming_what_was_expected(tmp_path, command):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a model\n")
    for path in (notes, tmp_path):  # a text file; a folder without feature_spec.json
        code, output = _invoke(*command, path)
        assert code == 2 and output.count("\n") == 1, output
        assert str(path) in output and "expected a run directory" in output and "edgekit ONNX model" in output
