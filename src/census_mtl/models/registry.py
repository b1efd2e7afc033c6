"""``build_model``: a network from its name and plain parameters, with checked parameters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from torch import nn

from census_mtl.models.inputs import InputSpec
from census_mtl.models.layers import ACTIVATIONS, NORMS
from census_mtl.models.networks import PLE, SharedBottom, SingleTask

_UNITS, _COUNT = "a non-empty list of positive integers", "a positive integer"
COMMON = {
    "tower_hidden_units": "a list of positive integers (may be empty)",
    "dropout": "a number in [0, 1)",
    "norm": f"one of {list(NORMS)}",
    "activation": f"one of {sorted(ACTIVATIONS)}",
}
LEVEL = {
    "experts_per_task": "an integer >= 0",
    "shared_experts": "an integer >= 0",
    "expert_hidden_units": _UNITS,
    "shared_expert_hidden_units": f"{_UNITS}, or null for expert_hidden_units",
}
GATE = {"gate_hidden_units": "a list of positive integers; [] for a linear gate"}
REQUIRED = {
    "ple": {"levels": "a list of levels", **GATE},
    "cgc": {"levels": "a list of exactly one level", **GATE},
    "mmoe": {"num_experts": _COUNT, "expert_hidden_units": _UNITS, **GATE},
    "share_bottom": {"bottom_hidden_units": _UNITS},
    "single_task": {"hidden_units": _UNITS},
}
MODEL_NAMES = tuple(REQUIRED)
DEFAULTS = {"tower_hidden_units": [], "dropout": 0.0, "norm": None, "activation": "relu"}


def _is_units(value: Any, allow_empty: bool = False) -> bool:
    return (
        isinstance(value, list)
        and (allow_empty or bool(value))
        and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
    )


def _is_count(value: Any, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _check_keys(where: str, given: Mapping, required: Mapping, optional: Mapping) -> None:
    allowed = {**required, **optional}
    unknown = sorted(set(given) - set(allowed))
    missing = sorted(set(required) - set(given))
    if unknown or missing:
        problems = [
            f"unknown {unknown}" if unknown else "",
            f"missing {missing}" if missing else "",
        ]
        listing = "; ".join(f"{k}: {v}" for k, v in allowed.items())
        raise ValueError(f"{where}: {', '.join(p for p in problems if p)}. Allowed: {listing}.")


def _fail(where: str, key: str, value: Any, expected: str) -> None:
    raise ValueError(f"{where}: {key}={value!r} must be {expected}.")


def _check_level(where: str, level: Mapping) -> None:
    _check_keys(
        where, level, {k: LEVEL[k] for k in list(LEVEL)[:3]}, {k: LEVEL[k] for k in list(LEVEL)[3:]}
    )
    for key in ("experts_per_task", "shared_experts"):
        if not _is_count(level[key], 0):
            _fail(where, key, level[key], LEVEL[key])
    if level["experts_per_task"] + level["shared_experts"] == 0:
        raise ValueError(f"{where}: a level needs at least one expert.")
    task_units = level["expert_hidden_units"]
    shared_units = level.get("shared_expert_hidden_units") or task_units
    for key, units in (
        ("expert_hidden_units", task_units),
        ("shared_expert_hidden_units", shared_units),
    ):
        if not _is_units(units):
            _fail(where, key, units, _UNITS)
    if task_units[-1] != shared_units[-1]:
        raise ValueError(
            f"{where}: task and shared experts must share an output width, "
            f"got {task_units[-1]} and {shared_units[-1]}."
        )


def check_params(name: str, params: Mapping) -> dict:
    """Return ``params`` with defaults filled in, or raise ``ValueError`` saying what is allowed."""
    if name not in REQUIRED:
        raise ValueError(f"unknown model {name!r}; allowed: {', '.join(MODEL_NAMES)}.")
    where = f"model {name!r}"
    _check_keys(where, params, REQUIRED[name], COMMON)
    full = {**DEFAULTS, **params}
    checks = {
        "tower_hidden_units": _is_units(full["tower_hidden_units"], allow_empty=True),
        "dropout": isinstance(full["dropout"], int | float) and 0 <= full["dropout"] < 1,
        "norm": full["norm"] in NORMS,
        "activation": full["activation"] in ACTIVATIONS,
        "gate_hidden_units": _is_units(full.get("gate_hidden_units", []), allow_empty=True),
        "num_experts": _is_count(full.get("num_experts", 1), 1),
    }
    for key in ("expert_hidden_units", "bottom_hidden_units", "hidden_units"):
        checks[key] = key not in full or _is_units(full[key])
    for key, ok in checks.items():
        if not ok:
            _fail(where, key, full[key], {**COMMON, **REQUIRED[name]}[key])
    if name in ("ple", "cgc"):
        levels = full["levels"]
        if not isinstance(levels, list) or not levels or (name == "cgc" and len(levels) != 1):
            _fail(where, "levels", levels, REQUIRED[name]["levels"])
        for i, level in enumerate(levels):
            if not isinstance(level, Mapping):
                _fail(where, f"levels[{i}]", level, "a mapping")
            _check_level(f"{where}, levels[{i}]", level)
    return full


def build_model(
    name: str, input_dim: InputSpec, tasks: Sequence[str], params: Mapping
) -> nn.Module:
    """Build ``name`` for inputs of ``input_dim`` (dense width or ``FeatureLayout``) and ``tasks``.

    ``model(x)`` returns ``{task: logits (batch,)}``. Unknown names or bad parameters raise
    ``ValueError`` listing what is allowed.
    """
    if not tasks or len(set(tasks)) != len(tasks):
        raise ValueError(f"tasks must be distinct names, got {list(tasks)}.")
    p = check_params(name, params)
    mlp = {k: p[k] for k in ("dropout", "norm", "activation")}
    towers = p["tower_hidden_units"]
    if name in ("ple", "cgc"):
        return PLE(input_dim, tasks, p["levels"], p["gate_hidden_units"], towers, **mlp)
    if name == "mmoe":
        level = {
            "experts_per_task": 0,
            "shared_experts": p["num_experts"],
            "expert_hidden_units": p["expert_hidden_units"],
        }
        return PLE(input_dim, tasks, [level], p["gate_hidden_units"], towers, **mlp)
    if name == "share_bottom":
        return SharedBottom(input_dim, tasks, p["bottom_hidden_units"], towers, **mlp)
    return SingleTask(input_dim, tasks, p["hidden_units"], towers, **mlp)
