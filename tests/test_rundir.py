"""RunDir names each run-directory file once; the teacher export finds the folds the manifest lists."""

from __future__ import annotations

import json

import pytest

from edgekit.errors import EdgekitError
from edgekit.rundir import RunDir


def test_run_dir_file_names(tmp_path):
    run = RunDir(tmp_path)
    assert run.ensemble == tmp_path / "teachers" / "ensemble.json"
    fold = run.member_fold("resnet1d", 2)
    assert fold == tmp_path / "teachers" / "resnet1d" / "fold2"
    assert RunDir.checkpoint_in(fold) == fold / "checkpoint.pt"
    assert RunDir.logits_in(run.teachers, "oof", "_average") == run.teachers / "oof_logits_average.npy"
    assert RunDir.logits_in(run.student, "test_exact") == run.student / "test_exact_logits.npy"


def test_load_teachers_reads_every_fold_of_the_manifest(tmp_path):
    pytest.importorskip("torch")
    from edgekit.export.teachers import load_teachers
    from edgekit.models.registry import create_model
    from edgekit.rundir import save_model

    run = RunDir(tmp_path)
    with pytest.raises(EdgekitError, match="ensemble.json"):
        load_teachers(tmp_path)
    options = {"in_chs": 4, "num_classes": 3}
    for fold in range(2):
        save_model(run.member_fold("cnn_bigru_attn", fold), create_model("cnn_bigru_attn", **options),
                   "cnn_bigru_attn", options)
    run.ensemble.write_text(json.dumps({"members": ["cnn_bigru_attn"], "folds": 2}))
    ensemble, names = load_teachers(tmp_path)
    assert names == ["cnn_bigru_attn"] and [len(folds) for folds in ensemble.members] == [2]
    run.ensemble.write_text(json.dumps({"members": ["cnn_bigru_attn"], "folds": 3}))
    with pytest.raises(EdgekitError, match="fold2"):
        load_teachers(tmp_path)
