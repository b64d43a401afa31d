"""Numbers as people read them, one way everywhere: the CLI's tables, the demo's summary, the
runtime report and the benchmark tables in the README.

Every formatter takes None (a value that was not measured) and returns "", so a table cell never
reads "None". `markdown_table` lays rows out as GitHub markdown (first columns left, numbers right).
"""

from __future__ import annotations

from typing import Any, Sequence


def format_count(n: float | None) -> str:
    """Parameters, MACs: `12.3 K`, `4.56 M`, `1.23 G`; below a thousand the number itself."""
    if n is None:
        return ""
    for scale, unit in ((1e9, "G"), (1e6, "M")):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n / 1e3:.1f} K" if n >= 1e3 else f"{n:g}"


def format_bytes(n: int | None) -> str:
    """File and memory sizes in binary units: `512 B`, `12.3 KiB`, `4.56 MiB`, `37.6 GiB`."""
    if n is None:
        return ""
    if n < 1024:
        return f"{n} B"
    for scale, unit in ((2**30, "GiB"), (2**20, "MiB")):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n / 1024:.1f} KiB"


def format_seconds(seconds: float | None) -> str:
    """A duration in the unit that keeps three significant digits readable: `1.23 ms`, `456 µs`."""
    if seconds is None:
        return ""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def format_percent(fraction: float | None, digits: int = 1) -> str:
    """A fraction (0.973) as a percentage without the sign (`97.3`): the column header says `%`."""
    return "" if fraction is None else f"{100 * fraction:.{digits}f}"


def format_ratio(value: float | None) -> str:
    """How many times: `12.3x`."""
    return "" if value is None else f"{value:.3g}x"


def format_number(value: float | None, spec: str = ".3g") -> str:
    return "" if value is None else format(value, spec)


def format_cell(value: Any) -> str:
    """Any table cell: floats to four significant digits, None empty, the rest as text."""
    if value is None:
        return ""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], left: int = 1) -> str:
    """A GitHub markdown table; the first `left` columns are aligned left, the rest (numbers) right."""
    align = "|" + "---|" * left + "---:|" * (len(columns) - left)
    lines = [_md_row(columns), align] + [_md_row([format_cell(v) for v in row]) for row in rows]
    return "\n".join(lines) + "\n"


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"
