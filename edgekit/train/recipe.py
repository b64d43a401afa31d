"""Recipes: TOML in, a validated `Recipe` out; `key=value` overrides; the resolved TOML back out.

    recipe = load_recipe("recipes/sim/quickstart.toml", ["train.epochs=3", "student.name=mbconv_tcn_xs"])

Override values are parsed as TOML literals (`3`, `0.5`, `true`, `[1, 2]`, `{hidden = 32}`) and
fall back to a plain string (`student.name=mbconv_tcn_xs`); a dotted key walks tables, and a
number walks lists (`teachers.members.0.options.drop=0.1`). Conversion is strict: an unknown key,
a value of the wrong type, a choice outside its `Literal` or an unknown model names the dotted
key and what is allowed.
"""

from __future__ import annotations

import inspect
import tomllib
import types
import typing
from dataclasses import asdict, fields, is_dataclass
from pathlib import Path
from typing import Any, Sequence, get_type_hints

from edgekit.errors import EdgekitError
from edgekit.train.config import ModelConfig, Recipe


class RecipeError(EdgekitError):
    """A recipe key, value or model name is not valid; the message names the key."""


def load_recipe(path: str | Path, overrides: Sequence[str] = ()) -> Recipe:
    path = Path(path)
    if not path.is_file():
        raise RecipeError(f"recipe {path}: not found; recipes live in recipes/<dataset>/<name>.toml")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise RecipeError(f"recipe {path}: not valid TOML: {exc}") from None
    raw.setdefault("name", path.stem)
    return recipe_from_dict(apply_overrides(raw, overrides), where=str(path))


def recipe_from_dict(raw: dict[str, Any], where: str = "recipe") -> Recipe:
    try:
        recipe = convert(Recipe, raw, "")
    except RecipeError as exc:
        raise RecipeError(f"{where}: {exc}") from None
    validate(recipe, where)
    return recipe


def apply_overrides(raw: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """A deep copy of `raw` with each `dotted.key=value` set."""
    import copy

    out = copy.deepcopy(raw)
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise RecipeError(f"override {item!r}: expected key=value, e.g. train.epochs=3")
        parts = key.strip().split(".")
        node: Any = out
        for i, part in enumerate(parts[:-1]):
            nxt = parts[i + 1]
            if isinstance(node, list):
                node = node[_list_index(node, part, key)]
                continue
            if part not in node or not isinstance(node[part], (dict, list)):
                node[part] = [] if nxt.isdigit() else {}
            node = node[part]
        last = parts[-1]
        value = _parse_value(text)
        if isinstance(node, list):
            node[_list_index(node, last, key)] = value
        else:
            node[last] = value
    return out


def _list_index(node: list, part: str, key: str) -> int:
    if not part.isdigit() or int(part) >= len(node):
        raise RecipeError(f"override {key!r}: {part!r} is not an index of a list of {len(node)} entries")
    return int(part)


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text  # a bare word: a name


# --- strict dict -> dataclass conversion ----------------------------------------------------
def convert(tp: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    shown = key or "<top level>"
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(tp)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in (o for o in options if o is not type(None)):
            try:
                return convert(option, value, key)
            except RecipeError as exc:
                errors.append(str(exc))
        raise RecipeError(errors[0])
    if origin is typing.Literal:
        allowed = typing.get_args(tp)
        if value not in allowed:
            raise RecipeError(f"{shown} = {value!r} is not allowed; expected one of {list(allowed)}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, list):
            raise RecipeError(f"{shown} = {value!r}; expected a list")
        (inner, *_) = typing.get_args(tp) or (Any,)
        items = [convert(inner, v, f"{key}.{i}") for i, v in enumerate(value)]
        return items if origin is list else tuple(items)
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise RecipeError(f"{shown} = {value!r}; expected a table")
        return dict(value)
    if is_dataclass(tp):
        if not isinstance(value, dict):
            raise RecipeError(f"{shown} = {value!r}; expected a table with keys {sorted(f.name for f in fields(tp))}")
        hints = get_type_hints(tp)
        known = [f.name for f in fields(tp)]
        unknown = sorted(set(value) - set(known))
        if unknown:
            where = f" in [{key}]" if key else ""
            raise RecipeError(f"unknown key {_join(key, unknown[0])!r}{where}; allowed: {known}")
        kwargs = {k: convert(hints[k], v, _join(key, k)) for k, v in value.items()}
        try:
            return tp(**kwargs)
        except (TypeError, ValueError, EdgekitError) as exc:  # a config's own __post_init__ check
            raise RecipeError(f"[{shown}]: {exc}") from None
    if tp is Any:
        return value
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if tp in (int, str, bool) and type(value) is tp:
        return value
    if isinstance(tp, type) and issubclass(tp, __import__("enum").Enum):
        try:
            return tp(value)
        except ValueError:
            raise RecipeError(f"{shown} = {value!r}; expected one of {[m.value for m in tp]}") from None
    raise RecipeError(f"{shown} = {value!r}; expected {getattr(tp, '__name__', tp)}")


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


# --- semantic checks that need the registry --------------------------------------------------
def validate(recipe: Recipe, where: str = "recipe") -> None:
    from edgekit.models import list_models

    def fail(msg: str) -> None:
        raise RecipeError(f"{where}: {msg}")

    teachers, students = list_models(kind="teacher"), list_models(kind="student")
    for i, member in enumerate(recipe.teachers.members):
        _check_model(member, f"teachers.members.{i}", teachers, fail)
    _check_model(ModelConfig(recipe.student.name, recipe.student.options), "student", students, fail)
    names = [m.name for m in recipe.teachers.members]
    if len(set(names)) != len(names):
        fail(f"teachers.members names {names} repeat; each member is saved under its name, give each a distinct model")
    positive = {"train.epochs": recipe.train.epochs, "train.batch_size": recipe.train.batch_size,
                "data.length": recipe.data.length, "train.eval_batch_size": recipe.train.eval_batch_size}
    for key, value in positive.items():
        if value < 1:
            fail(f"{key} = {value}; expected a positive integer")
    for key in ("teachers.epochs", "student.epochs"):
        value = getattr(getattr(recipe, key.split(".")[0]), "epochs")
        if value is not None and value < 1:
            fail(f"{key} = {value}; expected a positive integer (or leave it out to use train.epochs)")
    if recipe.teachers.folds < 2:
        fail(f"teachers.folds = {recipe.teachers.folds}; expected at least 2")
    if not 0.0 <= recipe.distill.alpha <= 1.0:
        fail(f"distill.alpha = {recipe.distill.alpha}; expected a value in [0, 1]")
    if recipe.distill.temperature <= 0:
        fail(f"distill.temperature = {recipe.distill.temperature}; expected a positive number")
    if not 0.0 <= recipe.train.ema_decay < 1.0:
        fail(f"train.ema_decay = {recipe.train.ema_decay}; expected 0 (off) or a value in (0, 1)")
    if recipe.data.source == "simulator" and recipe.data.simulate_sequences < 10:
        fail(f"data.simulate_sequences = {recipe.data.simulate_sequences}; expected at least 10")
    if any(s < 0 for s in recipe.teachers.tta_shifts):
        fail(f"teachers.tta_shifts = {recipe.teachers.tta_shifts}; expected non-negative sample counts")


def _check_model(cfg: ModelConfig, key: str, allowed: list[str], fail) -> None:
    from edgekit.models import get_entry

    if cfg.name not in allowed:
        fail(f"{key}.name = {cfg.name!r} is not a registered model of that kind; allowed: {allowed}")
    params = inspect.signature(get_entry(cfg.name).builder).parameters
    try:
        model_options(cfg.name, cfg.options, f"{key}.options")
    except RecipeError as exc:
        fail(str(exc))
    reserved = sorted({"in_chs", "num_classes"} & set(cfg.options))
    if reserved:
        fail(f"{key}.options sets {reserved}; these come from the data, remove them")
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        unknown = sorted(set(cfg.options) - set(params))
        if unknown:
            fail(f"{key}.options has unknown option(s) {unknown}; allowed: {sorted(set(params) - {'in_chs', 'num_classes'})}")
    else:  # builders taking **opts check them when built: build a tiny instance to find out now
        try:
            from edgekit.models import create_model

            create_model(cfg.name, in_chs=8, num_classes=2, **cfg.options)
        except EdgekitError as exc:
            fail(f"{key}.options: {exc}")


def model_options(name: str, options: dict[str, Any], key: str = "options") -> dict[str, Any]:
    """Builder keyword arguments from plain TOML values: a table or a list of tables becomes the
    dataclass the builder's annotation names (e.g. resnet1d's `stages = [{out_chs = 32}, ...]`
    → `tuple[ResNetStage, ...]`), so recipes never name classes or import paths."""
    from edgekit.models import get_entry

    builder = get_entry(name).builder
    try:
        hints = get_type_hints(builder)
    except Exception:  # annotations that cannot be resolved: pass values through unchanged
        hints = {}
    out = {}
    for opt, value in options.items():
        hint = hints.get(opt)
        out[opt] = convert(hint, value, f"{key}.{opt}") if hint is not None and _has_dataclass(hint) else value
    return out


def _has_dataclass(tp: Any) -> bool:
    if is_dataclass(tp):
        return True
    return any(_has_dataclass(a) for a in typing.get_args(tp) if a is not Ellipsis)


# --- resolved recipe back to TOML ------------------------------------------------------------
def recipe_to_dict(recipe: Recipe) -> dict[str, Any]:
    return _drop_none(asdict(recipe))


def dump_recipe(recipe: Recipe, header: str = "") -> str:
    """TOML text of the resolved recipe (None values are left out: they are the defaults)."""
    data = recipe_to_dict(recipe)
    lines = [f"# {line}" for line in header.splitlines()] if header else []
    scalars = {k: v for k, v in data.items() if not isinstance(v, dict)}
    lines += [f"{k} = {_toml_value(v)}" for k, v in scalars.items()]
    for name, table in data.items():
        if isinstance(table, dict):
            _emit_table(lines, name, table)
    return "\n".join(lines) + "\n"


def _emit_table(lines: list[str], name: str, table: dict[str, Any]) -> None:
    lines += ["", f"[{name}]"]
    nested = {}
    for key, value in table.items():
        if isinstance(value, dict) and key not in ("options", "spec") and value:
            nested[key] = value
        else:
            lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    for key, value in nested.items():
        _emit_table(lines, f"{name}.{key}", value)


def _toml_key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else _toml_value(key)


def _toml_value(value: Any) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    if hasattr(value, "value"):  # Enum
        return _toml_value(value.value)
    raise RecipeError(f"cannot write {value!r} ({type(value).__name__}) to TOML")


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_drop_none(v) for v in value]
    if hasattr(value, "value") and hasattr(type(value), "__members__"):
        return value.value
    return value
