"""The one set of number formatters and the markdown table every report uses."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.formatting import (format_bytes, format_cell, format_count, format_number, format_percent,
                                format_ratio, format_seconds, markdown_table)
from edgekit.numeric import distribution


@pytest.mark.parametrize("fn", [format_count, format_bytes, format_seconds, format_percent, format_ratio,
                                format_number, format_cell])
def test_a_missing_value_is_an_empty_cell(fn):
    assert fn(None) == ""


def test_formats():
    assert [format_count(n) for n in (12, 1_234, 4_560_000, 1_230_000_000)] == ["12", "1.2 K", "4.56 M", "1.23 G"]
    assert [format_bytes(n) for n in (512, 12_595, 4_781_506)] == ["512 B", "12.3 KiB", "4.56 MiB"]
    assert [format_seconds(s) for s in (2.5, 1.234e-3, 4.56e-4, 7e-9)] == ["2.5 s", "1.23 ms", "456 µs", "7 ns"]
    assert format_percent(0.97346) == "97.3" and format_percent(0.97346, digits=2) == "97.35"
    assert format_ratio(123.456) == "123x" and format_number(0.123456) == "0.123"
    assert format_cell(1 / 3) == "0.3333" and format_cell(7) == "7"


def test_markdown_table_aligns_numbers_right():
    text = markdown_table(["model", "kind", "p50 ms"], [["a", "step", 0.123456], ["b", "window", None]], left=2)
    assert text == "| model | kind | p50 ms |\n|---|---|---:|\n| a | step | 0.1235 |\n| b | window |  |\n"


def test_distribution():
    stats = distribution(np.arange(1, 101, dtype=np.float64), digits=2)
    assert stats == {"p50": 50.5, "p90": 90.1, "p99": 99.01, "mean": 50.5, "min": 1.0, "max": 100.0}
    assert distribution(np.array([])) == {}
