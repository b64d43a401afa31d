"""Several streams in one table (`--stream-col`, `SourceOptions.stream_column`): by default
`sequence_id`, else `subject`; each value is its own stream whose time is checked on its own, a
file's interleaved streams are regrouped, and backwards time names the column and the option."""

from __future__ import annotations

import io
import json

import polars as pl
import pytest
from click.testing import CliRunner

from edgekit.errors import DataError
from edgekit.runtime.sources import Issue, Sample, SourceOptions, read_samples

COLUMNS = ["acc_x", "acc_y", "acc_z"]
PERIOD_S = 0.02
N = 6  # samples per subject


def _two_subjects(interleaved: bool = False, **extra) -> pl.DataFrame:
    """Subjects s1 and s2, each with its time starting at 0: concatenated, or row by row."""
    rows = [{"subject": s, "time": round(i * PERIOD_S, 4), "acc_x": i, "acc_y": 0.0, "acc_z": 9.8, **extra}
            for s in ("s1", "s2") for i in range(N)]
    if interleaved:
        rows = [rows[i + k * N] for i in range(N) for k in range(2)]
    return pl.DataFrame(rows)


def _read(source, **options) -> tuple[list[Sample], list[Issue]]:
    events = list(read_samples(source, COLUMNS, PERIOD_S, options=SourceOptions(**options)))
    return [e for e in events if isinstance(e, Sample)], [e for e in events if isinstance(e, Issue)]


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
@pytest.mark.parametrize("interleaved", [False, True])
def test_each_subject_is_its_own_stream_by_default(tmp_path, suffix, interleaved):
    path = tmp_path / f"subjects.{suffix}"
    frame = _two_subjects(interleaved)
    frame.write_csv(path) if suffix == "csv" else frame.write_parquet(path)
    samples, issues = _read(path)
    assert issues == []  # time restarting at s2 is a new stream, not out of order
    assert [s.sequence for s in samples] == ["s1"] * N + ["s2"] * N  # regrouped when interleaved
    assert [s.values[0] for s in samples] == list(range(N)) * 2  # each stream in its own time order
    assert {s.stream_column for s in samples} == {"subject"} and {s.segment for s in samples} == {0}


def test_backwards_time_names_the_stream_column_and_the_option(tmp_path):
    path = tmp_path / "one_recording_id.csv"
    _two_subjects(sequence_id="rec").write_csv(path)  # sequence_id wins by default: one stream here
    samples, issues = _read(path)
    assert [i.kind for i in issues] == ["out_of_order"] * N  # none of s2's times is after s1's last
    assert "in stream sequence_id='rec'" in issues[0].message and "--stream-col COLUMN" in issues[0].message
    samples, issues = _read(path, stream_column="subject")
    assert issues == [] and [s.sequence for s in samples] == ["s1"] * N + ["s2"] * N
    _, issues = _read(path, stream_column="")
    assert issues and "read as one stream" in issues[0].message and "--stream-col" in issues[0].message


def test_an_unknown_stream_column_is_an_error_naming_it(tmp_path):
    path = tmp_path / "t.csv"
    _two_subjects().write_csv(path)
    with pytest.raises(DataError, match=r"stream column 'user' \(--stream-col\) is not in the header"):
        _read(path, stream_column="user")


def test_stdin_cannot_regroup_so_a_stream_that_comes_back_is_reported():
    text = io.StringIO(_two_subjects(interleaved=True).write_csv())
    samples, issues = _read(text)
    assert len(samples) == 2 * N and {i.kind for i in issues} == {"interleaved"}
    assert "subject 's1' comes back after another stream began" in issues[0].message


def test_cli_streams_each_subject_and_reports_per_subject(sim_export, tmp_path):
    from edgekit.cli import main

    frame = pl.read_parquet(sim_export.table)
    first, second = frame.get_column("sequence_id").unique(maintain_order=True).to_list()[:2]
    path = tmp_path / "two_subjects.csv"  # sequence_counter restarts at the second subject
    (frame.filter(pl.col("sequence_id").is_in([first, second])).drop("subject")
     .rename({"sequence_id": "subject"}).write_csv(path))
    result = CliRunner().invoke(main, ["stream", str(sim_export.step), "--input", str(path), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.splitlines()[-1])
    assert summary["stream_column"] == "subject" and summary["sequences"] == 2
    assert "out_of_order" not in summary["issues"] and [f["sequence"] for f in summary["finals"]] == [first, second]
    text = CliRunner().invoke(main, ["stream", str(sim_export.step), "--input", str(path)])
    assert text.exit_code == 0 and "streams (by subject;" in text.output and "per subject" in text.output
