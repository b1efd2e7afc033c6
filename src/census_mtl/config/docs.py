"""The settings reference page of the docs site, generated from the declarations.

``python -m census_mtl.config.docs docs/settings.md`` writes it; a test checks the committed page.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types as at
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from census_mtl.atomic import atomic_path
from census_mtl.config.network import MODELS
from census_mtl.config.project import Params
from census_mtl.config.training import Training

_BOUNDS = {at.Ge: ("≥", "ge"), at.Gt: (">", "gt"), at.Le: ("≤", "le"), at.Lt: ("<", "lt")}
_SKIP = set(MODELS)  # listed after the shared blocks


def _bounds(metadata: list) -> str:
    parts = []
    for item in metadata:
        if isinstance(item, FieldInfo):
            return _bounds(item.metadata)
        for kind, (sign, attribute) in _BOUNDS.items():
            if isinstance(item, kind):
                parts.append(f"{sign} {getattr(item, attribute)}")
        if isinstance(item, at.MinLen) and item.min_length:
            parts.append(f"at least {item.min_length} item(s)")
        if isinstance(item, at.MaxLen):
            parts.append(f"at most {item.max_length} item(s)")
    return f" {', '.join(parts)}" if parts else ""


def describe(annotation: Any, metadata: list | None = None) -> str:
    """A short reading of a type: ``integer ≥ 1``, ``one of adam, adamw``, ``list of ...``."""
    metadata = list(metadata or [])
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return describe(args[0], [*metadata, *annotation.__metadata__])
    blocks = _blocks(annotation)
    if blocks:
        key = "type" if "type" in blocks[0].model_fields else "kind"
        nullable = " or null" if type(None) in args else ""
        return (
            f"a block with {key}: "
            + ", ".join(get_args(b.model_fields[key].annotation)[0] for b in blocks)
            + nullable
        )
    if origin in (Union, types.UnionType):
        kinds = [describe(a) for a in args if a is not type(None)]
        nullable = " or null" if type(None) in args else ""
        return " or ".join(kinds) + _bounds(metadata) + nullable
    if origin is Literal:
        names = (str(a).lower() if isinstance(a, bool) else str(a) for a in args)
        return "one of " + ", ".join(names)
    if origin is list:
        return f"list of {describe(args[0])}" + _bounds(metadata)
    if origin is dict:
        return f"mapping of name to {describe(args[1])}" + _bounds(metadata)
    names = {bool: "true or false", int: "integer", float: "number", str: "text", Any: "value"}
    if getattr(annotation, "__name__", "") == "SpaceNode":
        return "a constant, {type: int, float or categorical, ...} or {repeat, each}"
    if _is_block(annotation):
        return "a block (below)"
    return names.get(annotation, getattr(annotation, "__name__", str(annotation))) + _bounds(
        metadata
    )


def _blocks(annotation: Any) -> list[type[BaseModel]]:
    """The blocks a union of blocks (tagged, maybe with null) offers; [] for any other type."""
    members = _members(annotation)
    return members if len(members) > 1 and all(_is_block(a) for a in members) else []


def _members(annotation: Any) -> list[Any]:
    """A type's union members, nested unions and ``Annotated`` unwrapped, null left out."""
    if get_origin(annotation) is Annotated:
        return _members(get_args(annotation)[0])
    if get_origin(annotation) in (Union, types.UnionType):
        return [m for a in get_args(annotation) for m in _members(a)]
    return [] if annotation is type(None) else [annotation]


def _is_block(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _nested(annotation: Any) -> tuple[type[BaseModel] | None, str]:
    """The block a field holds, and how its path goes on: ``''``, ``[]`` or ``.<name>``."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is list and _is_block(args[0]):
        return args[0], "[]"
    if origin is dict and _is_block(args[1]):
        return args[1], ".<name>"
    if origin in (Union, types.UnionType) and len(args) == 2 and type(None) in args:
        block = next(a for a in args if a is not type(None))
        return (block, "") if _is_block(block) else (None, "")
    return (annotation, "") if _is_block(annotation) else (None, "")


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    default = field.get_default(call_default_factory=True)
    if isinstance(default, BaseModel):
        return ""
    return (
        f"`{default!r}`".replace("None", "null").replace("True", "true").replace("False", "false")
    )


def _rows(model: type[BaseModel], prefix: str) -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        path = f"{prefix}.{name}" if prefix else name
        if prefix == "" and name in _SKIP:
            continue
        allowed = describe(field.annotation, field.metadata)
        blocks = _blocks(field.annotation)
        if blocks:  # the field, then each kind's keys
            rows.append(f"| `{path}` | {allowed} | {_default(field)} | {field.description} |")
            rows += [row for block in blocks for row in _rows(block, path)]
            continue
        block, tail = _nested(field.annotation)
        if block is not None:
            rows += _rows(block, path + tail)
            continue
        rows.append(f"| `{path}` | {allowed} | {_default(field)} | {field.description or ''} |")
    return rows


def settings_table() -> str:
    """Markdown: every setting's key path, allowed values, default and meaning."""
    rows = _rows(Params, "")
    rows += _rows(Training, "<model>.training")
    for name, network in MODELS.items():
        rows += _rows(network, f"{name}.model")
    head = "| key | allowed | default | meaning |\n|---|---|---|---|"
    return head + "\n" + "\n".join(dict.fromkeys(rows))


INTRO = """\
Every setting is declared once, with its type, default, range and meaning, as a pydantic model
in `src/census_mtl/config/` (`project.py`, `training.py`, `network.py`, `tuning.py`). Before any
work, a hook checks all parameters of the run (base, environment and `--params`): unknown keys
are errors at every depth, and a bad value ends the run within seconds with one message that
names each bad key by its full path, its value and what is allowed, e.g.

```
$ kedro run --env sample --pipelines train_ple --params ple.trainig.max_epochs=1
Error: Invalid parameters (1 problem(s)):
  ple.trainig: unknown key (did you mean 'training'?); allowed: model, training
```

`python -m census_mtl check-config [--env ENV] [--params k=v,...]` (or `kedro check-config`)
checks without running. The table below is generated from the declarations
(`python -m census_mtl.config.docs docs/settings.md`; a test keeps it in sync).
`<model>.training` takes the keys of `training_defaults`; `<name>` is any name you choose (a
task, a search space's model).
"""


def settings_page() -> str:
    """The whole page: how settings are checked, then the table."""
    return f"# Settings\n\n{INTRO}\n{settings_table()}\n"


if __name__ == "__main__":
    with atomic_path(Path(sys.argv[1])) as target:
        target.write_text(settings_page())
