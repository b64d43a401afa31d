"""User mistakes and broken files end in one `error: ...` line and exit status 2, never a traceback.

Each case once raised one: a truncated or empty `model.pt` (`RuntimeError` from miniz, `EOFError`
that Click turned into a bare `Aborted!`), an `--out` that cannot be written (found only after the
work), a full disk while writing a checkpoint (torch's `[enforce fail at inline_container.cc]`),
`class_names=[]` in an ONNX file (`IndexError` at the first prediction) and `bench --length
100000000` (`MemoryError`). Models are tiny: hand-built ONNX graphs and untrained state dicts.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from edgekit.cli import main
from edgekit.errors import EdgekitError

REPO = Path(__file__).resolve().parents[2]


def _invoke(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def _one_line_error(result, *expected: str) -> str:
    """The command failed with exit 2 and printed exactly one `error:` line holding `expected`."""
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    for part in expected:
        assert part in lines[0], lines[0]
    return lines[0]


def _never_called(*args, **kwargs):
    raise AssertionError("the command started its work before checking its output path")


# --- model.pt and checkpoints ----------------------------------------------------------------

@pytest.fixture()
def student_run(tmp_path) -> Path:
    """A folder `edgekit export` reads the student of: student/model.pt + model.json."""
    from edgekit.models.registry import create_model
    from edgekit.rundir import save_model

    options = {"in_chs": 4, "num_classes": 3}
    save_model(tmp_path / "run" / "student", create_model("mbconv_tcn_xs", **options), "mbconv_tcn_xs", options)
    return tmp_path / "run"


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize("damage, detail", [
    (_truncate, "failed finding central directory"),
    (lambda p: p.write_bytes(b""), "the file is empty"),
    (lambda p: p.write_text("not a checkpoint"), "truncated or not a PyTorch checkpoint"),
])
def test_damaged_model_pt_is_one_line(student_run, damage, detail):
    weights = student_run / "student" / "model.pt"
    damage(weights)
    result = _invoke("export", student_run)
    _one_line_error(result, str(weights), "truncated or not a PyTorch checkpoint", detail, "retrain or restore it")


def test_model_pt_of_another_model_is_one_line(student_run):
    import torch

    from edgekit.models.registry import create_model

    other = create_model("mbconv_tcn_xs", in_chs=6, num_classes=3)
    torch.save(other.state_dict(), student_run / "student" / "model.pt")
    result = _invoke("export", student_run)
    _one_line_error(result, "model.pt: its weights do not fit the mbconv_tcn_xs that model.json describes")


def test_damaged_checkpoint_names_the_file(tmp_path):
    from edgekit.train.checkpoint import load_checkpoint, save_checkpoint

    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, {"epoch": 1})
    _truncate(path)
    with pytest.raises(EdgekitError, match="checkpoint.pt: truncated or not a PyTorch checkpoint.*start this stage"):
        load_checkpoint(path)


def test_checkpoint_write_on_a_full_disk_keeps_the_previous_one(tmp_path, monkeypatch):
    import torch

    from edgekit.train.checkpoint import load_checkpoint, save_checkpoint

    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, {"epoch": 1})
    before = path.read_bytes()

    def full_disk(obj, f, *args, **kwargs):
        Path(f).write_bytes(b"PK\x03\x04")  # the torn start a full disk leaves
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(EdgekitError, match=f"could not write checkpoint {path}: No space left on device; "
                                           "the previous epoch's checkpoint is kept"):
        save_checkpoint(path, {"epoch": 2})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]  # no temporary file left over


def test_full_disk_during_training_is_one_line_and_keeps_the_checkpoint(tmp_path, monkeypatch):
    import torch

    from edgekit.train.checkpoint import load_checkpoint

    real_save, writes, kept = torch.save, [], {}

    def disk_fills_at_epoch_two(obj, f, *args, **kwargs):
        tmp = Path(f)
        if tmp.name.startswith(".checkpoint.pt."):
            writes.append(tmp)
            if len(writes) == 2:
                kept["bytes"] = (tmp.parent / "checkpoint.pt").read_bytes()
                tmp.write_bytes(b"PK\x03\x04")
                raise RuntimeError("[enforce fail at inline_container.cc:664] . PytorchStreamWriter failed writing "
                                   "file data/0: file write failed")
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", disk_fills_at_epoch_two)
    threads = torch.get_num_threads()
    out = tmp_path / "run"
    try:
        result = _invoke("train", "--recipe", REPO / "recipes" / "sim" / "quickstart.toml", "--teacher", "none",
                         "--out", out, "--json", "train.epochs=3", "data.simulate_sequences=40",
                         "data.simulate_subjects=8", "data.length=32")
    finally:
        torch.set_num_threads(threads)
    checkpoint = out / "student" / "checkpoint.pt"
    _one_line_error(result, f"could not write checkpoint {checkpoint}", "no space left",
                    "PytorchStreamWriter failed writing file data/0: file write failed", "--resume")
    assert "enforce fail" not in result.stderr
    assert checkpoint.read_bytes() == kept["bytes"]  # the previous epoch's checkpoint, byte for byte
    assert load_checkpoint(checkpoint)["epoch"] == 1
    assert not [p for p in checkpoint.parent.iterdir() if p.name.endswith(".tmp")]


# --- output paths, checked before any work ---------------------------------------------------

@pytest.fixture()
def a_file(tmp_path) -> Path:
    """A regular file: no folder can be made under it, not even by root (whom chmod does not stop)."""
    path = tmp_path / "a_file"
    path.write_text("")
    return path


def test_train_out_under_a_file(a_file, monkeypatch):
    monkeypatch.setattr("edgekit.train.run.train", _never_called)
    result = _invoke("train", "--recipe", REPO / "recipes" / "sim" / "quickstart.toml", "--out", a_file / "run")
    _one_line_error(result, f"--out {a_file / 'run'}", f"{a_file} is a file", "expected a path in a folder")


def test_export_out_under_a_file(student_run, a_file, monkeypatch):
    monkeypatch.setattr("edgekit.export.run.export_run", _never_called)
    result = _invoke("export", student_run, "--out", a_file / "export")
    _one_line_error(result, f"--out {a_file / 'export'}", f"{a_file} is a file")


def test_export_default_out_is_checked(student_run, monkeypatch):
    (student_run / "export").write_text("")  # RUN_DIR/export, where the export goes by default, is a file
    monkeypatch.setattr("edgekit.export.run.export_run", _never_called)
    result = _invoke("export", student_run)
    _one_line_error(result, f"--out {student_run / 'export'}: is a file; expected a folder")


@pytest.mark.parametrize("command", ["features", "simulate"])
def test_data_out_under_a_file(command, tmp_path, a_file, monkeypatch):
    monkeypatch.setattr(f"edgekit.pipeline.{command}_to", _never_called)
    out = a_file / "deeper" / "table.parquet"
    args = ["data", "features", tmp_path, "--out", out] if command == "features" else ["data", "simulate", "--out", out]
    _one_line_error(_invoke(*args), f"--out {out}", f"{a_file} is a file")


@pytest.mark.parametrize("flag", ["--out", "--plot"])
def test_bench_output_files_are_checked_first(flag, tiny_onnx, a_file, monkeypatch):
    monkeypatch.setattr("edgekit.runtime.bench.bench_models", _never_called)
    _one_line_error(_invoke("bench", tiny_onnx(), flag, a_file / "result.json"), f"{flag} {a_file / 'result.json'}")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder")
def test_read_only_folder(tmp_path):
    from edgekit.paths import ensure_writable_dir

    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        with pytest.raises(EdgekitError, match=r"--out .*locked/run: cannot write in .*locked \(Permission denied\)"):
            ensure_writable_dir(locked / "run", "--out")
    finally:
        locked.chmod(0o700)


def test_writable_paths_are_left_as_they_were(tmp_path):
    from edgekit.paths import ensure_writable_dir, ensure_writable_file

    assert ensure_writable_dir(tmp_path / "new" / "run", "--out") == tmp_path / "new" / "run"
    assert ensure_writable_file(tmp_path / "new" / "table.csv", "--out") == tmp_path / "new" / "table.csv"
    assert ensure_writable_dir(tmp_path, "--out") == tmp_path  # an existing folder
    assert list(tmp_path.iterdir()) == []  # no folder made, no probe file left
    with pytest.raises(EdgekitError, match="is a folder; expected a file name"):
        ensure_writable_file(tmp_path, "--out")


# --- ONNX metadata and bench lengths ---------------------------------------------------------

@pytest.fixture()
def tiny_onnx(tmp_path):
    """`tiny_onnx(classes=..., logits=..., channels=...)`: a window model (mean over time, then a
    linear layer) with edgekit metadata; its graph has `logits` outputs, its metadata `classes`."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from edgekit.runtime.metadata import KIND_WINDOW, ModelMetadata

    def make(classes=("a", "b", "c"), logits: int = 3, channels: int = 64) -> Path:
        weight = numpy_helper.from_array(np.ones((channels, logits), np.float32), "weight")
        graph = helper.make_graph(
            [helper.make_node("ReduceMean", ["features"], ["pooled"], axes=[1], keepdims=0),
             helper.make_node("MatMul", ["pooled", "weight"], ["logits"])],
            "tiny", [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", "time", channels])],
            [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", logits])], [weight])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        meta = ModelMetadata(model="tiny", feature_spec_json="{}", feature_spec_hash="raw:0", channels=tuple(
            f"ch{i}" for i in range(channels)), class_names=tuple(classes), window_length=16, padding="left",
            sample_period_s=0.01, kind=KIND_WINDOW, precision="fp32", inputs=("features",), outputs=("logits",))
        helper.set_model_props(model, meta.to_props())
        path = tmp_path / f"tiny_{len(classes)}_{logits}_{channels}.onnx"
        onnx.save(model, str(path))
        return path

    return make


def test_empty_class_names_are_one_line(tiny_onnx):
    path = tiny_onnx(classes=())
    _one_line_error(_invoke("bench", path, "--runs", "5"), str(path), "edgekit.class_names is empty",
                    "expected one name per logit")


def test_class_names_must_match_the_logits(tiny_onnx):
    path = tiny_onnx(classes=("a", "b"), logits=3)
    _one_line_error(_invoke("bench", path, "--runs", "5"), str(path),
                    "logits output has 3 logits but edgekit.class_names names 2 classes")


def test_bench_refuses_a_length_that_cannot_fit(tiny_onnx, monkeypatch):
    path = tiny_onnx(channels=64)  # 1e8 samples × 64 channels × 4 bytes: 24 GiB of inputs, before activations
    monkeypatch.setattr("edgekit.runtime.bench.ModelSession", _never_called)
    line = _one_line_error(_invoke("bench", path, "--length", "100000000"), "--length 100,000,000", str(path),
                           "of this machine's memory", "expected --length ≤ ")
    longest = int(line.rsplit("≤ ", 1)[1].replace(",", ""))
    assert 0 < longest < 100_000_000


def test_length_limit_is_exact(tiny_onnx, monkeypatch):
    from edgekit.runtime import bench
    from edgekit.runtime.metadata import read_metadata

    monkeypatch.setattr(bench, "usable_memory_bytes", lambda: 2**30)
    meta = read_metadata(tiny_onnx(channels=64))
    longest = int(2**30 * bench.MEMORY_FRACTION) // (2 * 64 * 4 * bench.ACTIVATION_FACTOR)
    bench.check_window_fits(meta, longest, (1, 2), "m")
    with pytest.raises(EdgekitError, match=f"--length {longest + 1:,}: m at batch 2 .* expected --length ≤ "
                                           f"{longest:,} at --batch 2"):
        bench.check_window_fits(meta, longest + 1, (1, 2), "m")


def test_bench_runs_a_length_that_fits(tiny_onnx, tmp_path):
    out = tmp_path / "bench" / "result.json"
    result = _invoke("bench", tiny_onnx(), "--length", "64", "--runs", "5", "--warmup", "0", "--out", out)
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["models"][0]["length"] == 64


def test_a_full_disk_anywhere_is_one_line(monkeypatch, tmp_path):
    """Writes outside the checkpoint path (JSON, tables) that hit ENOSPC end in one line too."""
    import errno

    from click.testing import CliRunner

    from edgekit.cli import main
    from edgekit.data import simulator

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "sim.parquet"))

    monkeypatch.setattr(simulator, "write_simulation", full)
    result = CliRunner().invoke(main, ["data", "simulate", "--sequences", "20", "--out", str(tmp_path / "sim.parquet")])
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [
        f"error: could not write {tmp_path / 'sim.parquet'}: No space left on device; free some space and rerun "
        "(training: with --resume)"]
