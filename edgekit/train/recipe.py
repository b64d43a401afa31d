"""Recipes: TOML in, a validated `Recipe` out; `key=value` overrides; the resolved TOML back out.

    recipe = load_recipe("recipes/sim/quickstart.toml", ["train.epochs=3", "student.name=mbconv_tcn_xs"])

Override values are parsed as TOML literals (`3`, `0.5`, `true`, `[1, 2]`, `{hidden = 32}`) and
fall back to a plain string (`student.name=mbconv_tcn_xs`); a dotted key walks tables, and a
number walks lists (`teachers.members.0.options.drop=0.1`). Reading is strict (`edgekit.config_io`):
an unknown key, a value of the wrong type or out of range, a choice outside its `Literal` or an
unknown model names the dotted key and what is allowed.
"""

from __future__ import annotations

import inspect
import tomllib
from pathlib import Path
from typing import Any, Sequence, get_type_hints

from edgekit.config_io import json_schema, needs_parsing, parse, to_plain, to_toml
from edgekit.errors import EdgekitError
from edgekit.train.config import ModelConfig, Recipe


class RecipeError(EdgekitError):
    """A recipe key, value or model name is not valid; the message names the key."""


# a teacher's `layout = "spec"`: its sensor branches from the run's feature spec (`modalities.py`)
LAYOUT_FROM_SPEC = "spec"


def load_recipe(path: str | Path, overrides: Sequence[str] = ()) -> Recipe:
    """`path` is a TOML file or, when no such file exists, the name of a shipped recipe
    (`sim/quickstart` or `recipes/sim/quickstart.toml`: see `edgekit recipes list`)."""
    from edgekit.resources import list_recipes, shipped_recipe

    path = Path(path)
    if not path.is_file():
        shipped = shipped_recipe(str(path))
        if shipped is None:
            raise RecipeError(f"recipe {path}: no such file, and not a shipped recipe (one of "
                              f"{', '.join(list_recipes())}; `edgekit recipes cp NAME DEST` copies one out to edit)")
        path = shipped
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise RecipeError(f"recipe {path}: not valid TOML: {exc}") from None
    raw.setdefault("name", path.stem)
    merged = apply_overrides(raw, overrides)  # a malformed override is named here
    try:
        return recipe_from_dict(merged, where=str(path))
    except RecipeError as exc:
        raise _blamed(exc, raw, overrides, str(path)) from None


def _blamed(error: RecipeError, raw: dict[str, Any], overrides: Sequence[str], where: str) -> RecipeError:
    """`error` of a recipe with overrides, laid at the override that causes it: `train.epochs=abc`
    is the user's typo on the command line, not a fault of the recipe file. Only on the error path,
    so it may re-read the recipe once per override."""
    if not overrides:
        return error
    try:
        recipe_from_dict(raw, where)
    except RecipeError:
        return error  # the file alone is already wrong
    for item in overrides:
        try:
            alone = apply_overrides(raw, [item])
        except RecipeError:
            continue  # it indexes a list an earlier override made
        try:
            recipe_from_dict(alone, where="")
        except RecipeError as exc:
            return RecipeError(f"override {item}: {exc}")
    try:  # only their combination fails (a check across fields)
        recipe_from_dict(apply_overrides(raw, overrides), where="")
    except RecipeError as exc:
        return RecipeError(f"{where} with overrides {' '.join(overrides)}: {exc}")
    return error


def recipe_from_dict(raw: dict[str, Any], where: str = "recipe") -> Recipe:
    recipe = parse(Recipe, raw, where, error=RecipeError)
    validate(recipe, where)
    return recipe


def recipe_json_schema() -> dict[str, Any]:
    """The JSON Schema of a recipe, for editor completion (`edgekit recipes schema`)."""
    return json_schema(Recipe)


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


# --- semantic checks that need the registry --------------------------------------------------
def validate(recipe: Recipe, where: str = "recipe") -> None:
    from edgekit.models import list_models

    def fail(msg: str) -> None:
        raise RecipeError(f"{where}: {msg}" if where else msg)

    teachers, students = list_models(kind="teacher"), list_models(kind="student")
    for i, member in enumerate(recipe.teachers.members):
        _check_model(member, f"teachers.members.{i}", teachers, fail)
    _check_model(ModelConfig(recipe.student.name, recipe.student.options), "student", students, fail)


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
    → `tuple[ResNetStage, ...]`) and a list becomes the tuple an annotation asks for (TOML and
    JSON have no tuples), so recipes never name classes or import paths. A teacher's
    `layout = "spec"` stays as it is: `prepare` replaces it by the feature spec's layout."""
    from edgekit.models import get_entry

    builder = get_entry(name).builder
    try:
        hints = get_type_hints(builder)
    except Exception:  # annotations that cannot be resolved: pass values through unchanged
        hints = {}
    return {opt: parse(hints[opt], value, key=f"{key}.{opt}", error=RecipeError)
            if needs_parsing(hints.get(opt)) and not (opt == "layout" and value == LAYOUT_FROM_SPEC)
            else value for opt, value in options.items()}


# --- resolved recipe back to TOML ------------------------------------------------------------
def recipe_to_dict(recipe: Recipe) -> dict[str, Any]:
    return to_plain(recipe, drop_none=True)


def dump_recipe(recipe: Recipe, header: str = "") -> str:
    """TOML text of the resolved recipe (None values are left out: they are the defaults)."""
    return to_toml(recipe_to_dict(recipe), header)
