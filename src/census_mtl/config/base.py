"""The base of every settings block, and one readable error for every bad parameter.

A block is a frozen pydantic model: strict types (``"3"`` is not a number), no unknown keys at
any depth (a misspelled key names the allowed ones and the closest), each field's default, range
and meaning declared once. ``ConfigError`` turns pydantic's errors into one message that names
each bad key by its full path, its value, and what is allowed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from difflib import get_close_matches
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator
from pydantic_core import PydanticCustomError

from census_mtl.errors import ProjectError


class ConfigError(ProjectError, ValueError):
    """Parameters that do not follow their declaration; the message lists every problem."""


class Settings(BaseModel):
    """A block of settings: strict, frozen, and no key that is not declared."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = [str(key) for key in data if key not in cls.model_fields]
            if unknown:
                raise PydanticCustomError(
                    "unknown_key",
                    "unknown key",
                    {"keys": unknown, "allowed": list(cls.model_fields)},
                )
        return data


def _describe_unknown(path: str, ctx: Mapping) -> list[str]:
    allowed = ctx["allowed"]
    lines = []
    for key in ctx["keys"]:
        close = get_close_matches(key, allowed, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        lines.append(f"{_join(path, key)}: unknown key{hint}; allowed: {', '.join(allowed)}")
    return lines


def _join(path: str, key: Any) -> str:
    return ".".join(part for part in (path, str(key)) if part)


def _data_path(data: Any, loc: Iterable[Any]) -> str:
    """The dotted path of ``loc`` in ``data``, without pydantic's union tags (not in the data)."""
    path, node = "", data
    for part in loc:
        if (isinstance(node, Mapping) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and part < len(node)
        ):
            node = node[part]
        else:
            continue  # a union member's tag, e.g. 'int' in `int | None`
        path = _join(path, part)
    return path


def error_lines(exc: ValidationError, data: Any, prefix: str = "") -> list[str]:
    """One line per problem: ``path = value: what is wrong / allowed``."""
    lines: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False):
        path = _join(prefix, _data_path(data, error["loc"]))
        if error["type"] == "unknown_key":
            for line in _describe_unknown(path, error["ctx"]):
                lines.setdefault(line, [])
        elif error["type"] == "missing":  # the key is not in the data: name it from loc
            missing = _join(_join(prefix, _data_path(data, error["loc"][:-1])), error["loc"][-1])
            lines.setdefault(f"{missing}: missing; it has no default", [])
        else:
            head = f"{path or '(top level)'} = {error['input']!r}"
            lines.setdefault(head, []).append(error["msg"].removeprefix("Value error, "))
    return [
        f"{head}: {' or '.join(dict.fromkeys(msgs))}" if msgs else head
        for head, msgs in lines.items()
    ]


def config_error(problems: list[str], where: str = "parameters") -> ConfigError:
    """One ``ConfigError`` listing ``problems``."""
    listing = "\n  ".join(problems)
    return ConfigError(f"Invalid {where} ({len(problems)} problem(s)):\n  {listing}")


def validate(model: type[BaseModel], data: Any, where: str, context: dict | None = None):
    """``model`` from ``data``, or a ``ConfigError`` whose paths start at ``where``."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise config_error(error_lines(exc, data, where)) from None


def drop_removed(named: Any) -> Any:
    """Entries set to null are removed: how an environment drops one of base (a task, a
    reference row, a task's booster settings), since environments deep-merge."""
    if isinstance(named, Mapping):
        return {name: value for name, value in named.items() if value is not None}
    return named


def _or_shared(description: str) -> str:
    return description if "null =" in description else f"{description} (null = the shared value)"


def overrides_of(block: type[Settings], doc: str) -> type[Settings]:
    """``block`` with every field optional (null = keep the value it overrides): the same
    types, ranges and meanings, declared once in ``block``."""
    fields = {
        name: (
            (Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation)
            | None,
            Field(None, description=_or_shared(info.description or "")),
        )
        for name, info in block.model_fields.items()
    }
    return create_model(f"{block.__name__}Override", __base__=Settings, __doc__=doc, **fields)


def merge_settings(base: Mapping, *overrides: Mapping) -> dict:
    """``base`` with each override merged in key by key, at every depth (the one merge rule).

    ``training_defaults`` and a model's ``training`` block, trial overrides and drawn trial
    values all combine through this function; a list or a scalar replaces the base value.
    """
    merged = dict(base)
    for override in overrides:
        for key, value in override.items():
            if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
                merged[key] = merge_settings(merged[key], value)
            else:
                merged[key] = value
    return merged
