"""Search spaces declared in YAML, in the shape of a model's own parameters.

A space mirrors the parameters it produces. Leaves are constants or distributions:

- ``{type: int, low, high, step?, log?}``, ``{type: float, low, high, step?, log?}``
- ``{type: categorical, choices: [...]}``
- ``{repeat: <int distribution>, each: <space>}``: a list of that many sampled items (PLE levels)

In a list of hidden units a sampled ``0`` removes that layer, so ``gate_hidden_units:
[{type: categorical, choices: [0, 16]}]`` searches a linear gate against a 16-unit one. Each
distribution's Optuna name is its path, e.g. ``model.levels.1.shared_experts``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import optuna

NUMERIC_KEYS = {"type", "low", "high", "step", "log"}


class SearchSpaceError(ValueError):
    """A search-space declaration is not valid."""


def _is_distribution(node: Any) -> bool:
    return isinstance(node, Mapping) and "type" in node


def check_space(node: Any, path: str = "") -> None:
    """Raise ``SearchSpaceError`` naming the path of the first bad declaration."""
    where = path or "search_space"
    if _is_distribution(node):
        kind = node["type"]
        if kind in ("int", "float"):
            extra = set(node) - NUMERIC_KEYS
            if extra:
                raise SearchSpaceError(
                    f"{where}: unknown keys {sorted(extra)} for a {kind}; allowed: low, high, "
                    "step, log."
                )
            if "low" not in node or "high" not in node:
                raise SearchSpaceError(f"{where}: a {kind} needs low and high.")
            low, high = node["low"], node["high"]
            if not all(isinstance(v, int | float) for v in (low, high)) or low > high:
                raise SearchSpaceError(
                    f"{where}: low={low!r} and high={high!r} must be numbers, low <= high."
                )
            if node.get("log") and low <= 0:
                raise SearchSpaceError(f"{where}: a log scale needs low > 0, got {low}.")
            if node.get("log") and node.get("step") not in (None, 1):
                raise SearchSpaceError(f"{where}: step and log cannot be combined.")
        elif kind == "categorical":
            choices = node.get("choices")
            if set(node) != {"type", "choices"} or not isinstance(choices, list) or not choices:
                raise SearchSpaceError(
                    f"{where}: a categorical needs exactly a non-empty choices list."
                )
            if not all(c is None or isinstance(c, bool | int | float | str) for c in choices):
                raise SearchSpaceError(
                    f"{where}: choices must be numbers, strings, booleans or null."
                )
        else:
            raise SearchSpaceError(
                f"{where}: unknown type {kind!r}; allowed: int, float, categorical."
            )
    elif isinstance(node, Mapping) and "repeat" in node:
        if set(node) != {"repeat", "each"} or not _is_distribution(node["repeat"]):
            raise SearchSpaceError(
                f"{where}: repeat needs an int distribution and an 'each' space."
            )
        if node["repeat"]["type"] != "int" or node["repeat"]["low"] < 1:
            raise SearchSpaceError(f"{where}.repeat: must be an int distribution with low >= 1.")
        check_space(node["repeat"], f"{where}.repeat")
        check_space(node["each"], f"{where}.each")
    elif isinstance(node, Mapping):
        for key, child in node.items():
            check_space(child, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for i, child in enumerate(node):
            check_space(child, f"{where}.{i}")


def _suggest(trial: optuna.Trial, name: str, spec: Mapping) -> Any:
    if spec["type"] == "categorical":
        return trial.suggest_categorical(name, spec["choices"])
    suggest = trial.suggest_int if spec["type"] == "int" else trial.suggest_float
    options = {k: spec[k] for k in ("step", "log") if k in spec}
    return suggest(name, spec["low"], spec["high"], **options)


def sample(trial: optuna.Trial, node: Any, path: str = "") -> Any:
    """Draw one configuration from the space ``node`` for ``trial``."""
    if _is_distribution(node):
        return _suggest(trial, path, node)
    if isinstance(node, Mapping) and "repeat" in node:
        count = _suggest(trial, f"{path}.repeat", node["repeat"])
        return [sample(trial, node["each"], f"{path}.{i}") for i in range(count)]
    if isinstance(node, Mapping):
        return {k: sample(trial, v, f"{path}.{k}" if path else str(k)) for k, v in node.items()}
    if isinstance(node, list):
        values = [sample(trial, child, f"{path}.{i}") for i, child in enumerate(node)]
        return [v for v in values if v != 0] if all(isinstance(v, int) for v in values) else values
    return node


def deep_merge(base: Mapping, override: Mapping) -> dict:
    """``base`` with ``override`` merged in, key by key for nested mappings."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
