"""CSV parsing of `edgekit stream` sources: every dropped line is reported with its own number, binary
input never resets a stream nor echoes raw bytes. Model-free: `read_events` takes the column names."""

from __future__ import annotations

import io
import json
import sys

import polars as pl
import pytest

from edgekit.errors import DataError
from edgekit.runtime.sources import Issue, Sample, apply_policy, read_events

COLUMNS = ["acc_x", "acc_y", "acc_z"]
PERIOD_S = 0.02
N_SAMPLES = 210


def _lines(n: int = N_SAMPLES, sequence: str = "s1") -> list[str]:
    """Header (line 1) then `n` samples of one sequence (lines 2 .. n + 1)."""
    return ["sequence_id,time,acc_x,acc_y,acc_z"] + [f"{sequence},{i * PERIOD_S:.2f},0.1,0.2,9.8" for i in range(n)]


def _events(text: str) -> tuple[list[Sample], list[Issue]]:
    events = list(apply_policy(read_events(io.StringIO(text), COLUMNS, sample_period_s=PERIOD_S), PERIOD_S))
    return [e for e in events if isinstance(e, Sample)], [e for e in events if isinstance(e, Issue)]


def test_unterminated_quote_costs_only_its_own_line():
    lines = _lines()
    lines[21] = 's1,0.40,"0.1,0.2,9.8'  # line 22: a quote that never closes
    samples, issues = _events("\n".join(lines) + "\n")
    assert [(i.line, i.kind) for i in issues] == [(22, "malformed"), (23, "gap")]  # the gap it leaves is filled
    assert "line 22:" in str(issues[0])
    assert len(samples) == N_SAMPLES  # 209 read + 1 NaN sample filling line 22's slot
    assert sum(s.filled for s in samples) == 1 and samples[-1].line == N_SAMPLES + 1


def test_every_dropped_line_has_its_own_number():
    lines = _lines(10)
    lines[2] = 's1,0.02,"0.1,0.2,9.8'  # line 3: unterminated quote
    lines[4] = 's1,0.06,"0.1"x,0.2,9.8'  # line 5: text after a closing quote
    lines[6] = "s1,0.10,0.1"  # line 7: too few fields
    _, issues = _events("\n".join(lines) + "\n")
    assert [i.line for i in issues if i.kind == "malformed"] == [3, 5, 7]


def test_nul_bytes_in_an_id_are_an_issue_not_a_new_sequence():
    lines = _lines(10)
    lines[5] = "\x00\x00\x00" + lines[5]  # line 6: NUL bytes before the id
    samples, issues = _events("\n".join(lines) + "\n")
    assert [(i.line, i.kind) for i in issues if i.kind == "malformed"] == [(6, "malformed")]
    assert "3 control or undecodable bytes" in issues[0].message and "\x00" not in issues[0].message
    assert {s.sequence for s in samples} == {"s1"} and {s.segment for s in samples} == {0}  # no reset


def test_binary_garbage_is_reported_without_raw_bytes(tmp_path):
    garbage = bytes(range(256)) * 3
    path = tmp_path / "mixed.csv"
    body = "\n".join(_lines(6)).encode()
    path.write_bytes(body[:body.index(b"\n", 60)] + b"\n" + garbage + b"\n" + body[body.index(b"\n", 60) + 1:])
    events = list(read_events(path, COLUMNS, sample_period_s=PERIOD_S))
    issues = [e for e in events if isinstance(e, Issue)]
    assert issues and all(i.kind == "malformed" for i in issues)
    for issue in issues:  # printable ASCII only: safe for a terminal and for JSON lines
        assert issue.message.isascii() and issue.message.isprintable(), issue.message
        json.dumps(issue.message, ensure_ascii=True)
    assert len([e for e in events if isinstance(e, Sample)]) == 6


def test_binary_header_is_an_error_without_raw_bytes(tmp_path):
    path = tmp_path / "blob.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00")
    with pytest.raises(DataError, match=r"line 1: not text: .*expected a CSV header") as err:
        list(read_events(path, COLUMNS, sample_period_s=PERIOD_S))
    assert str(err.value).isascii() and "\x1a" not in str(err.value)


def test_binary_stdin_is_reported_not_a_decode_error(monkeypatch):
    data = ("\n".join(_lines(4)) + "\n").encode() + b"s1,0.08,\xff\xfe\x00,0.2,9.8\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
    events = list(read_events("-", COLUMNS, sample_period_s=PERIOD_S))
    issues = [e for e in events if isinstance(e, Issue)]
    assert [(i.line, i.kind) for i in issues] == [(6, "malformed")] and issues[0].message.isascii()
    assert len(events) == 5 and not sys.stdin.buffer.closed  # stdin stays usable


def test_a_value_is_echoed_escaped_and_short():
    lines = _lines(3)
    lines[2] = "s1,0.02," + "é" * 100 + ",0.2,9.8"
    _, issues = _events("\n".join(lines) + "\n")
    message = issues[0].message
    assert issues[0].line == 3 and message.isascii() and "\\xe9" in message and "...'" in message
    assert message.count("\\xe9") == 24  # cut short: the first 24 characters only


def test_parquet_garbled_sequence_id_is_an_issue(tmp_path):
    path = tmp_path / "t.parquet"
    pl.DataFrame({"sequence_id": ["s1", "\x00\x00s1", "s1"], "time": [0.0, 0.02, 0.04],
                  "acc_x": [0.1] * 3, "acc_y": [0.2] * 3, "acc_z": [9.8] * 3}).write_parquet(path)
    events = list(apply_policy(read_events(path, COLUMNS, sample_period_s=PERIOD_S), PERIOD_S))
    assert [(e.line, e.where) for e in events if isinstance(e, Issue) and e.kind == "malformed"] == [(2, "row")]
    assert {e.sequence for e in events if isinstance(e, Sample)} == {"s1"}


def test_a_byte_order_mark_is_not_part_of_the_first_column(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + ("\n".join(_lines(3)) + "\n").encode())
    events = list(read_events(path, COLUMNS, sample_period_s=PERIOD_S))
    assert [e.sequence for e in events] == ["s1"] * 3
