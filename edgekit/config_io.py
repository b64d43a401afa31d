"""Configs in and out: plain data (TOML, JSON) ⇄ typed dataclasses, one mechanism (pydantic v2).

Recipes, feature specs, export profiles and saved model options are stdlib dataclasses.
`parse(tp, data, where)` validates plain data into one with pydantic's strict JSON rules whatever
file it came from: a string is never a number, a bool never an int, a list becomes a tuple, an
Enum is written as its value. Unknown keys are refused: a dataclass parsed as a root carries
`@with_config(FORBID)`, and pydantic hands that config down to the dataclasses nested in it.
Ranges live on the fields (`PositiveInt`, `Annotated[float, Field(ge=0, lt=1, description=...)]`);
the description is what an error says was expected and what an editor shows from `json_schema`.
Checks across fields stay in `__post_init__` and raise `ConfigError`, a ValueError, so pydantic
reports them at the dataclass's key. Errors name the dotted key and what was expected:

    recipes/sim/quickstart.toml: train.epochs: expected a positive integer, got 0
    recipes/sim/quickstart.toml: unknown key 'train.epoks'; allowed in [train]: ['epochs', ...]
"""

from __future__ import annotations

import functools
import json
import types
import typing
from dataclasses import fields, is_dataclass
from enum import Enum
from typing import Annotated, Any

import pydantic_core
import tomli_w
from pydantic import ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from edgekit.errors import EdgekitError

FORBID = ConfigDict(extra="forbid")

PositiveInt = Annotated[int, Field(ge=1, description="a positive integer")]
PositiveFloat = Annotated[float, Field(gt=0, description="a positive number")]
NonNegative = Annotated[float, Field(ge=0, description="a number >= 0")]
NonNegativeInt = Annotated[int, Field(ge=0, description="an integer >= 0")]
Probability = Annotated[float, Field(ge=0, le=1, description="a probability in [0, 1]")]
Fraction = Annotated[float, Field(ge=0, le=1, description="a value in [0, 1]")]

_UNKNOWN = ("extra_forbidden", "unexpected_keyword_argument")
_NOUNS = {"int": "an integer", "float": "a number", "bool": "true or false", "string": "a string",
          "list": "a list", "tuple": "a list", "dict": "a table", "dataclass": "a table"}


class ConfigError(EdgekitError, ValueError):
    """A config key or value is not valid; the message names the key and what was expected."""


def parse(tp: Any, data: Any, where: str = "", *, key: str = "", error: type[EdgekitError] = ConfigError) -> Any:
    """`data` (plain TOML/JSON values) validated into `tp`; the first problem raises `error`,
    prefixed by `where` (the file) and naming keys from `key` (where `data` sits in it)."""
    text = json.dumps(data, default=str)  # TOML dates become strings, so a type error, not a crash
    try:
        return _adapter(tp).validate_json(text, strict=True)
    except ValidationError as exc:
        errors = exc.errors()  # a misspelt key also leaves one missing: name the misspelling
        problem = _describe(tp, next((e for e in errors if e["type"] in _UNKNOWN), errors[0]), key)
        raise error(f"{where}: {problem}" if where else problem) from None


def needs_parsing(tp: Any) -> bool:
    """Whether plain values for annotation `tp` must go through `parse` to become it: a dataclass
    or a tuple anywhere in it (TOML/JSON give tables and lists)."""
    if is_dataclass(tp) or typing.get_origin(tp) is tuple:
        return True
    return any(needs_parsing(a) for a in typing.get_args(tp) if a is not Ellipsis)


def check(obj: Any) -> None:
    """Hold a dataclass built in code to its field types and ranges; call it from `__post_init__`.
    Lax, as code may give an Enum by its value or a tuple as a list: the converted value is kept."""
    cls = type(obj)
    for name, tp, adapter in _field_adapters(cls):
        try:
            object.__setattr__(obj, name, adapter.validate_python(getattr(obj, name)))
        except ValidationError as exc:
            raise ConfigError(f"{cls.__name__}: {_describe(tp, exc.errors()[0], name)}") from None


def to_plain(obj: Any, *, drop_none: bool = False) -> Any:
    """JSON-ready data: dataclasses become dicts (field order kept), Enums their values, tuples lists."""
    plain = pydantic_core.to_jsonable_python(obj)
    return _drop_none(plain) if drop_none else plain


def to_toml(data: dict[str, Any], header: str = "") -> str:
    """TOML text of plain data, `header` as leading comments; None values are left out (TOML has
    no null; in a config None is the default)."""
    return "".join(f"# {line}\n" for line in header.splitlines()) + tomli_w.dumps(_drop_none(data))


def json_schema(tp: Any) -> dict[str, Any]:
    return _adapter(tp).json_schema()


@functools.cache
def _adapter(tp: Any) -> TypeAdapter:
    if is_dataclass(tp):  # pydantic takes a dataclass's config from the class, never from here
        if getattr(tp, "__pydantic_config__", {}).get("extra") != "forbid":
            raise TypeError(f"{tp.__name__} is parsed as a config root: decorate it with @with_config(FORBID)")
        return TypeAdapter(tp)
    return TypeAdapter(tp, config=FORBID)


@functools.cache
def _field_adapters(cls: type) -> tuple[tuple[str, Any, TypeAdapter], ...]:
    hints = typing.get_type_hints(cls, include_extras=True)
    return tuple((f.name, hints[f.name], TypeAdapter(hints[f.name])) for f in fields(cls))


def _describe(root: Any, err: dict[str, Any], prefix: str = "") -> str:
    """One line for a pydantic error at `err["loc"]` inside `root`, keys shown after `prefix`."""
    loc = tuple(err["loc"])
    key = ".".join(map(str, ([prefix] if prefix else []) + list(loc)))
    kind = err["type"]
    if kind in _UNKNOWN:
        parent = key.rpartition(".")[0]
        table = _bare(_type_at(root, loc[:-1]))
        allowed = [f.name for f in fields(table)] if is_dataclass(table) else None
        return f"unknown key {key!r}" + (f"; allowed{f' in [{parent}]' if parent else ''}: {allowed}" if allowed else "")
    expected = _expected(_type_at(root, loc), kind)
    if kind == "missing" and isinstance(loc[-1], int):
        return f"{key.rpartition('.')[0]}: too few values (no item {loc[-1]})"
    if kind == "missing":
        return f"missing key {key!r}" + (f"; expected {expected}" if expected else "")
    if kind == "value_error":  # a check across fields, raised by the dataclass at `key`
        problem = str(err["ctx"]["error"])
    elif expected:
        problem = f"expected {expected}, got {err['input']!r}"
    else:
        problem = f"{err['msg'][0].lower()}{err['msg'][1:]}, got {err['input']!r}"
    return f"{key}: {problem}" if key else problem


def _expected(tp: Any, kind: str) -> str | None:
    """What the value at a key should be: the type (for a value of the wrong type), else the
    choices or the field's description (for a value out of range)."""
    noun = _NOUNS.get(kind.split("_")[0])
    if noun and kind.endswith(("_type", "_parsing", "_from_float")):
        return noun
    while tp is not None:
        if typing.get_origin(tp) is Annotated:
            info = next((m for m in tp.__metadata__ if isinstance(m, FieldInfo) and m.description), None)
            if info is not None:
                return info.description
        elif typing.get_origin(tp) is typing.Literal:
            return f"one of {list(typing.get_args(tp))}"
        elif isinstance(tp, type) and issubclass(tp, Enum):
            return f"one of {[m.value for m in tp]}"
        unwrapped = _bare(tp, once=True)
        tp = None if unwrapped is tp else unwrapped
    return None


def _bare(tp: Any, once: bool = False) -> Any:
    """`tp` without `Annotated[...]` and `| None` (once: one layer)."""
    while True:
        if typing.get_origin(tp) is Annotated:
            inner = typing.get_args(tp)[0]
        elif typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in typing.get_args(tp):
            options = [a for a in typing.get_args(tp) if a is not type(None)]
            inner = options[0] if len(options) == 1 else tp
        else:
            inner = tp
        if inner is tp or once:
            return inner
        tp = inner


def _type_at(tp: Any, loc: tuple) -> Any:
    """The declared type at `loc` inside `tp` (None where a union or a list index hides it)."""
    for part in loc:
        tp = _bare(tp)
        args = typing.get_args(tp)
        if is_dataclass(tp):
            tp = typing.get_type_hints(tp, include_extras=True).get(part)
        elif typing.get_origin(tp) in (list, tuple) and isinstance(part, int):
            tp = args[0] if len(args) == 1 or args[-1] is Ellipsis else (args[part] if part < len(args) else None)
        elif typing.get_origin(tp) is dict and args:
            tp = args[1]
        else:
            return None
    return tp


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value
