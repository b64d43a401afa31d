"""Continuous recordings: long tables cut into sequences by label, session and time gaps
(`segments.py`), Edge Impulse acquisition files, what `inspect` reports, and the zero-config path."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from edgekit.data import inspect_dataset, load_dataset, load_long_table
from edgekit.data.edge_impulse import load_edge_impulse
from edgekit.data.long_table import TableColumns
from edgekit.data.segments import CUT_KEY
from edgekit.data.windows import sliding_windows
from edgekit.errors import DataError

FIXTURES = Path(__file__).parent / "fixtures" / "edge_impulse"
PERIOD = 0.02


def _stream(subject: str, labels: str, *, start: float = 0.0, gap_at: int | None = None) -> pl.DataFrame:
    """One subject's stream, one row per character of `labels` (w = walk, s = sit), every 20 ms;
    `x` counts the rows so each sequence's samples can be checked; a 1 s hole before row `gap_at`."""
    time = start + PERIOD * np.arange(len(labels))
    if gap_at is not None:
        time[gap_at:] += 1.0
    return pl.DataFrame({"user": subject, "activity": [{"w": "walk", "s": "sit"}[c] for c in labels],
                         "t": time, "x": np.arange(len(labels), dtype=np.float64)})


def _write(frame: pl.DataFrame, path: Path) -> Path:
    frame.sample(fraction=1.0, shuffle=True, seed=0).write_csv(path)  # rows in any order
    return path


@pytest.fixture
def wisdm_like(tmp_path) -> Path:
    """Two subjects; p0 walks, sits, then walks again (the label comes back), and p1 has a gap."""
    return _write(pl.concat([_stream("p0", "wwwsswww"), _stream("p1", "sssswwww", gap_at=2)]), tmp_path / "w.csv")


_COLUMNS = {"sequence_col": "", "subject_col": "user", "label_col": "activity", "order_col": "t"}


def test_label_changes_cut_each_stream_and_a_returning_label_is_a_new_sequence(wisdm_like):
    ds = load_long_table(wisdm_like, **_COLUMNS)
    assert list(ds.sequence_ids) == ["p0:0", "p0:1", "p0:2", "p1:0", "p1:1", "p1:2"]
    assert [ds.class_names[i] for i in ds.labels] == ["walk", "sit", "walk", "sit", "sit", "walk"]
    assert list(ds.subjects) == ["p0"] * 3 + ["p1"] * 3
    assert [s[:, 0].tolist() for s in ds.sequences[:3]] == [[0, 1, 2], [3, 4], [5, 6, 7]]  # sorted by time
    assert [s[:, 0].tolist() for s in ds.sequences[3:]] == [[0, 1], [2, 3], [4, 5, 6, 7]]  # the gap splits sit
    assert list(ds.extras[CUT_KEY]) == ["start", "label", "label", "start", "gap", "label"]
    assert ds.sample_period_s == pytest.approx(PERIOD)


def test_session_column_cuts_sessions_whose_time_restarts(tmp_path):
    runs = [_stream("p0", "wwww").with_columns(pl.lit(run).alias("run")) for run in ("a", "b")]
    runs.append(_stream("p1", "sss").with_columns(pl.lit("a").alias("run")))
    path = _write(pl.concat(runs), tmp_path / "s.csv")
    ds = load_long_table(path, **_COLUMNS, session_col="run")
    assert list(ds.sequence_ids) == ["p0:0", "p0:1", "p1:0"] and list(ds.lengths) == [4, 4, 3]
    assert list(ds.extras[CUT_KEY]) == ["start", "session", "start"]
    mixed = pl.concat([_stream("p0", "wwss").with_columns(pl.lit("a").alias("run"))])
    with pytest.raises(DataError, match=r"sequence 'p0:0' has several 'activity' values \['sit', 'walk'\]"):
        load_long_table(_write(mixed, tmp_path / "mixed.csv"), **_COLUMNS, session_col="run")


def test_gaps_split_at_five_periods_or_the_given_threshold(tmp_path):
    path = _write(_stream("p0", "wwwwwwww", gap_at=4), tmp_path / "g.csv")
    assert list(load_long_table(path, **_COLUMNS).lengths) == [4, 4]  # 1.02 s step > 5 x 20 ms
    assert list(load_long_table(path, **_COLUMNS, max_gap_s=2.0).lengths) == [8]
    # a sample counter: the threshold in seconds needs the rate
    counter = pl.read_csv(path).with_columns((pl.col("t") / PERIOD).round().cast(pl.Int64))
    counter.write_csv(tmp_path / "c.csv")
    ds = load_long_table(tmp_path / "c.csv", **_COLUMNS, sample_period_s=PERIOD, max_gap_s=0.5)
    assert list(ds.lengths) == [4, 4] and ds.extras["segment_gap_s"][1] == pytest.approx(1.02)
    with pytest.raises(DataError, match="max_gap_s = 0.5 s but the order column 't' is a sample counter"):
        load_long_table(tmp_path / "c.csv", **_COLUMNS, max_gap_s=0.5)
    with pytest.raises(DataError, match="no sequence column and no label or session column"):
        load_long_table(path, **{**_COLUMNS, "label_col": None})


def test_windows_are_cut_within_segments(tmp_path):
    path = _write(pl.concat([_stream("p0", "w" * 10 + "s" * 6 + "w" * 7)]), tmp_path / "long.csv")
    windows = sliding_windows(load_long_table(path, **_COLUMNS), window=4, hop=2)
    # 10 samples: windows at 0, 2, 4, 6; 6: at 0, 2; 7: at 0, 2 -- none across a label change
    assert len(windows) == 8
    assert [windows.class_names[i] for i in windows.labels] == ["walk"] * 4 + ["sit"] * 2 + ["walk"] * 2
    assert windows.sequences[4][:, 0].tolist() == [10, 11, 12, 13]
    assert set(windows.subjects) == {"p0"}


def test_table_columns_fit_a_continuous_table(wisdm_like, tmp_path):
    given = {"subject": "user", "label": "activity", "time": "t"}
    assert TableColumns().for_table(wisdm_like, given).sequence == ""  # no sequence column: cut by label
    assert TableColumns().for_table(wisdm_like, {**given, "sequence": "user"}).sequence == "user"
    pl.read_csv(wisdm_like).rename({"user": "subject", "activity": "label", "t": "time"}).write_csv(tmp_path / "d.csv")
    assert len(load_dataset(tmp_path / "d.csv")) == 6  # load_dataset fits the defaults the same way


def test_edge_impulse_json_folder():
    ds = load_dataset(FIXTURES / "json")
    assert list(ds.sequence_ids) == ["idle.s01", "idle.s02", "wave.s03"] and list(ds.lengths) == [4, 3, 5]
    assert ds.class_names == ("idle", "wave") and list(ds.labels) == [0, 0, 1]  # from the file names
    assert ds.channels == ("accX", "accY", "accZ") and ds.units == ("m/s2",) * 3
    assert ds.sample_period_s == pytest.approx(0.01)  # interval_ms
    assert np.isnan(ds.sequences[2][4, 1]) and ds.sequences[2][0].tolist() == pytest.approx([3.1, -2.0, 8.0])
    report = inspect_dataset(ds)
    assert report["sample_period"]["source"] == "documented" and "segments" not in report
    assert report["extras"]["device"] == {"ac:87:a3:0a:2d:1b": 2, "ac:87:a3:0a:2d:1c": 1}


def test_edge_impulse_csv_folder_with_a_multi_label_sample():
    ds = load_dataset(FIXTURES / "csv")
    assert list(ds.sequence_ids) == ["idle.c01", "session.c03:0", "session.c03:1", "session.c03:2", "wave.c02"]
    assert [ds.class_names[i] for i in ds.labels] == ["idle", "idle", "wave", "idle", "wave"]  # label column wins
    assert ds.channels == ("accX", "accY", "accZ") and ds.sample_period_s == pytest.approx(0.02)  # 20 ms steps
    assert list(ds.lengths) == [3, 2, 2, 2, 4] and ds.sequences[4][:, 0].tolist() == pytest.approx([3.1, -2.9, 3.3, -3.0])
    assert inspect_dataset(ds)["segments"]["label_changes"] == 2
    single = load_dataset(FIXTURES / "csv" / "wave.c02.csv")  # one file: detected by its `timestamp` column
    assert len(single) == 1 and single.class_names == ("wave",)


def test_edge_impulse_export_splits_single_sensor_and_errors(tmp_path):
    export = tmp_path / "export"
    for split, names in (("training", ["idle.s01.json", "wave.s03.json"]), ("testing", ["idle.s02.json"])):
        (export / split).mkdir(parents=True)
        for name in names:
            shutil.copy(FIXTURES / "json" / name, export / split / name)
    assert len(load_dataset(export)) == 2 and list(load_dataset(export, split="test").sequence_ids) == ["idle.s02"]
    doc = {"protected": {"ver": "v1", "alg": "none"}, "signature": "0" * 64,
           "payload": {"device_type": "X", "interval_ms": 0.0625, "sensors": [{"name": "audio", "units": "wav"}],
                       "values": [1, -2, 3]}}
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "noise.a.json").write_text(json.dumps(doc))
    audio = load_edge_impulse(tmp_path / "one")
    assert audio.sequences[0].shape == (3, 1) and audio.sample_period_s == pytest.approx(6.25e-5)
    (tmp_path / "one" / "noise.b.json").write_text(json.dumps({**doc, "payload": {**doc["payload"], "interval_ms": 1}}))
    with pytest.raises(DataError, match=r"noise.b.json: sample period 1 ms; expected noise.a.json's 0.0625 ms"):
        load_edge_impulse(tmp_path / "one")
    (tmp_path / "one" / "noise.b.json").write_text(json.dumps({**doc, "payload": {**doc["payload"], "values": [[1, 2]]}}))
    with pytest.raises(DataError, match=r"payload.values row 0 is \[1, 2\]; expected 1 values"):
        load_edge_impulse(tmp_path / "one")


def test_inspect_reports_segments_gaps_and_label_changes(wisdm_like):
    from edgekit.cli import main as cli

    report = inspect_dataset(load_long_table(wisdm_like, **_COLUMNS))
    assert report["segments"] == {"streams": 2, "segments": 6, "label_changes": 3, "session_changes": 0, "gaps": 1,
                                  "max_gap_s": pytest.approx(5 * PERIOD), "largest_gap_s": pytest.approx(1.02)}
    assert "segment_cut" not in report["extras"]
    args = ["data", "inspect", str(wisdm_like), "--subject-col", "user", "--label-col", "activity", "--time-col", "t"]
    result = CliRunner().invoke(cli, [*args, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["segments"]["label_changes"] == 3
    shown = CliRunner().invoke(cli, args)
    assert shown.exit_code == 0 and "label_changes" in shown.output and "gaps" in shown.output


def test_zero_config_recipe_cuts_a_continuous_table_and_says_so(tmp_path, monkeypatch):
    from edgekit.train import auto

    monkeypatch.setattr(auto, "_macs", lambda *args: 1_000_000)  # the models' costs are not this test's subject
    # four subjects, each walking, sitting and walking again for 150 samples
    frame = pl.concat([_stream(f"p{i}", ("w" * 150 + "s" * 150 + "w" * 150)) for i in range(4)])
    path = _write(frame, tmp_path / "wisdm.csv")
    derived = auto.derive_recipe(str(path), teacher="none", columns={"subject": "user", "label": "activity", "time": "t"})
    assert derived.recipe.data.columns.sequence == ""
    note = next(n for n in derived.notes if n.startswith("sequences:"))
    assert "the 4 subject streams is cut where the label changes (8 changes)" in note and "12 sequences" in note


def test_train_cli_session_col_reaches_the_recipe(tmp_path):
    """`edgekit train DATA --session-col run --print-recipe`: the column lands in [data.columns]."""
    from click.testing import CliRunner

    from edgekit.cli import main

    runs = [_stream(p, "wwww").with_columns(pl.lit(r).alias("run")) for p in ("p0", "p1", "p2") for r in ("a", "b")]
    path = _write(pl.concat(runs), tmp_path / "s.csv")
    result = CliRunner().invoke(main, ["train", str(path), "--sequence-col", "", "--subject-col", "user",
                                       "--label-col", "activity", "--time-col", "t", "--session-col", "run",
                                       "--print-recipe"])
    assert result.exit_code == 0, result.output
    assert 'session = "run"' in result.output
