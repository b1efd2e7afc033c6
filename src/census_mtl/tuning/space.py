"""Search spaces declared in YAML, in the shape of a model's own parameters.

A space mirrors the parameters it produces. Leaves are constants or distributions:

- ``{type: int, low, high, step?, log?}``, ``{type: float, low, high, step?, log?}``
- ``{type: categorical, choices: [...]}``
- ``{repeat: <int distribution>, each: <space>}``: a list of that many sampled items (PLE levels)

In a list of hidden units a sampled ``0`` removes that layer, so ``gate_hidden_units:
[{type: categorical, choices: [0, 16]}]`` searches a linear gate against a 16-unit one. Each
distribution's Optuna name is its path, e.g. ``model.levels.1.shared_experts``. The shape is
declared and checked in ``census_mtl.config.tuning``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import optuna


def _is_distribution(node: Any) -> bool:
    return isinstance(node, Mapping) and "type" in node


def _suggest(trial: optuna.Trial, name: str, spec: Mapping) -> Any:
    if spec["type"] == "categorical":
        return trial.suggest_categorical(name, spec["choices"])
    suggest = trial.suggest_int if spec["type"] == "int" else trial.suggest_float
    options = {k: spec[k] for k in ("step", "log") if k in spec}
    return suggest(name, spec["low"], spec["high"], **options)


class FirstDraw:
    """A stand-in trial that draws each distribution's low end or first choice.

    ``sample(FirstDraw(), space)`` is a valid configuration of the space's shape, which the
    parameter check validates against the model's declaration.
    """

    def suggest_categorical(self, name: str, choices: list) -> Any:
        return choices[0]

    def suggest_int(self, name: str, low: Any, high: Any, **options: Any) -> Any:
        return low

    suggest_float = suggest_int


def sample(trial: optuna.Trial | FirstDraw, node: Any, path: str = "") -> Any:
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
