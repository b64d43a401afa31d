"""Model registry: `@register_model` on short builder functions, `create_model(name, **overrides)`.

A builder is a plain function returning an `nn.Module`; its keyword arguments are the model's
options, so `create_model("modern_tcn_xs", in_chs=9, num_classes=6)` calls it with those keyword
arguments. Registering a name twice is an error (two models silently sharing a name is a bug).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Callable

from edgekit.errors import EdgekitError


@dataclass(frozen=True)
class ModelEntry:
    name: str
    builder: Callable
    kind: str  # "teacher" or "student"
    streamable: bool  # has init_state()/step() equal to its offline causal forward
    summary: str


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(kind: str, streamable: bool = False) -> Callable[[Callable], Callable]:
    """Register a builder under its function name. `kind` is "teacher" or "student"."""
    if kind not in ("teacher", "student"):
        raise ValueError(f"kind must be 'teacher' or 'student', not {kind!r}")

    def decorator(builder: Callable) -> Callable:
        name = builder.__name__
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is registered twice; model names must be unique")
        doc = inspect.getdoc(builder) or ""
        _REGISTRY[name] = ModelEntry(name, builder, kind, streamable, doc.splitlines()[0] if doc else "")
        return builder

    return decorator


def _ensure_loaded() -> None:
    # importing the zoo modules runs their @register_model decorators
    import edgekit.models.students  # noqa: F401
    import edgekit.models.teachers  # noqa: F401


def list_models(kind: str | None = None, streamable: bool | None = None) -> list[str]:
    _ensure_loaded()
    return sorted(
        e.name
        for e in _REGISTRY.values()
        if (kind is None or e.kind == kind) and (streamable is None or e.streamable == streamable)
    )


def get_entry(name: str) -> ModelEntry:
    _ensure_loaded()
    if name not in _REGISTRY:
        raise EdgekitError(f"unknown model {name!r}; available: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def resolved_options(name: str, options: dict) -> dict:
    """`options` with every builder argument it leaves out at its default, in signature order:
    what a saved model records, so it rebuilds the same even after a default changes. A builder
    taking `**opts` (the students: their defaults live in a preset config) keeps those as given."""
    signature = inspect.signature(get_entry(name).builder)
    bound = signature.bind_partial(**options)
    bound.apply_defaults()
    resolved: dict = {}
    for key, value in bound.arguments.items():
        if signature.parameters[key].kind is inspect.Parameter.VAR_KEYWORD:
            resolved.update(value)
        else:
            resolved[key] = value
    return resolved


def create_model(name: str, **overrides):
    """Build a registered model; unknown option names are an error naming the allowed ones."""
    entry = get_entry(name)
    params = inspect.signature(entry.builder).parameters
    accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    unknown = [k for k in overrides if k not in params] if not accepts_any else []
    if unknown:
        raise EdgekitError(f"model {name!r} has no option(s) {unknown}; allowed: {sorted(params)}")
    return entry.builder(**overrides)
