"""The search space of `edgekit sweep`: dotted recipe keys, each with the values a trial may take.

    [space."train.optim.lr"]          # both bounds floats: a float range
    low = 1e-4
    high = 1e-2
    log = true                        # sampled on a log scale
    [space."train.epochs"]            # both bounds integers: an integer range
    low = 4
    high = 12
    step = 4
    [space."train.batch_size"]        # a list: one of these (numbers, strings or booleans)
    choices = [16, 32, 64]

The keys are those of `key=value` overrides (`recipe.py`: `student.options.drop`,
`teachers.members.0.options.chs`). `check_space` holds every key and every edge of its range (each
bound, each choice) to the recipe before a trial runs: a key the recipe does not have is named with
the recipe keys closest to it, a value the recipe refuses with the recipe's own reason.
"""

from __future__ import annotations

import difflib
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import with_config

from edgekit.config_io import FORBID, parse, to_plain
from edgekit.errors import EdgekitError
from edgekit.train.fingerprint import flatten
from edgekit.train.recipe import RecipeError, apply_overrides, recipe_from_dict

Choice = bool | int | float | str


class SpaceError(EdgekitError):
    """A search space key or range is not valid; the message names the key."""


@with_config(FORBID)
@dataclass(frozen=True)
class Param:
    """One key's values: `choices`, or a range from `low` to `high` (integers when both are)."""

    low: int | float | None = None
    high: int | float | None = None
    log: bool = False
    step: int | float | None = None
    choices: tuple[Choice, ...] = ()

    @property
    def is_int(self) -> bool:
        return not self.choices and _is_int(self.low) and _is_int(self.high)

    def suggest(self, trial, key: str) -> Any:
        if self.choices:
            return trial.suggest_categorical(key, list(self.choices))
        if self.is_int:
            return trial.suggest_int(key, self.low, self.high, step=self.step or 1, log=self.log)
        return trial.suggest_float(key, float(self.low), float(self.high), step=self.step, log=self.log)

    def edges(self) -> tuple[Choice, ...]:
        """The values that bound what a trial may draw: each choice, or both ends of the range."""
        return self.choices or (self.low, self.high)

    def holds(self, value: Any) -> bool:
        """Whether a trial could draw `value` (the recipe's own value: the baseline trial)."""
        if self.choices:
            return any(type(value) is type(c) and value == c for c in self.choices)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (self.is_int and not _is_int(value)):
            return False
        if not self.low <= value <= self.high:
            return False
        return self.step is None or math.isclose((value - self.low) / self.step, round((value - self.low) / self.step))

    def describe(self) -> str:
        if self.choices:
            return " | ".join(str(c) for c in self.choices)
        grid = f" step {self.step:g}" if self.step is not None else ""
        return f"{self.low:g} .. {self.high:g}" + (" (log)" if self.log else "") + grid


@with_config(FORBID)
@dataclass(frozen=True)
class _SpaceFile:
    space: dict[str, Param]


def load_space(path: str | Path) -> dict[str, Param]:
    """The `[space."dotted.key"]` tables of a TOML file, each checked to be a valid range."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SpaceError(f"search space {path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise SpaceError(f"search space {path}: cannot read it ({exc.strerror})") from None
    space = parse(_SpaceFile, raw, str(path), error=SpaceError).space
    if not space:
        raise SpaceError(f"search space {path}: no keys; expected tables like [space.\"train.optim.lr\"] with "
                         "low/high or choices")
    for key, param in space.items():
        _check_param(key, param, str(path))
    return space


def _check_param(key: str, p: Param, where: str) -> None:
    def fail(msg: str) -> None:
        raise SpaceError(f"{where}: space {key!r}: {msg}")

    if p.choices:
        if p.low is not None or p.high is not None or p.log or p.step is not None:
            fail("gives choices and a range; expected either `choices = [...]` or `low`/`high`")
        if len(set(map(repr, p.choices))) != len(p.choices):
            fail(f"choices {list(p.choices)} repeat a value")
        return
    if p.low is None or p.high is None:
        fail("expected `low` and `high` (a range) or `choices = [...]`")
    if not p.low < p.high:
        fail(f"low = {p.low} is not below high = {p.high}")
    if p.log and p.step is not None:
        fail("sets both log and step; a range is sampled on a log scale or on a grid, not both")
    if p.log and p.low <= 0:
        fail(f"log = true needs low > 0, got {p.low}")
    if p.step is not None and (p.step <= 0 or (p.is_int and not _is_int(p.step))):
        fail(f"step = {p.step} must be positive{' and an integer, as the bounds are' if p.is_int else ''}")


def override(key: str, value: Any) -> str:
    """`key=value` with the value as a TOML literal, as `apply_overrides` reads it back."""
    return f"{key}={tomli_w.dumps({'v': value})[4:].strip()}"


def check_space(space: dict[str, Param], raw: dict[str, Any]) -> None:
    """Refuse a key the recipe `raw` lacks (naming the closest recipe keys) or a value it refuses,
    trying each edge of each range alone on the recipe."""
    known = list(flatten(to_plain(recipe_from_dict(raw, where="recipe"))))
    for key, param in space.items():
        for value in param.edges():
            try:
                recipe_from_dict(apply_overrides(raw, [override(key, value)]), where="")
            except RecipeError as exc:
                if key in known:
                    raise SpaceError(f"space {key!r}: the recipe refuses {value!r} ({param.describe()}): {exc}") from None
                close = difflib.get_close_matches(key, known, n=3, cutoff=0.6)
                hint = f"; did you mean {' or '.join(close)}?" if close else " (see `edgekit recipes schema`)"
                raise SpaceError(f"space {key!r} is not a key of the recipe{hint} ({exc})") from None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
