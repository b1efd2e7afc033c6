"""``build_model``: a network from its name and parameters (declared in ``census_mtl.config``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from torch import nn

from census_mtl.config import MODELS, NETWORKS, ConfigError, ModelParams, NetworkParams, validate
from census_mtl.models.inputs import FeatureLayout, InputSpec
from census_mtl.models.networks import PLE, SharedBottom, SingleTask
from census_mtl.models.numeric import EmbeddedNumbers, PeriodicNumbers


def model_params(name: str, params: Mapping | ModelParams) -> ModelParams:
    """``params`` of model ``name``, typed; a bad name or value raises ``ConfigError``."""
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; allowed: {', '.join(MODELS)}.")
    if isinstance(params, MODELS[name]):
        return params
    return validate(MODELS[name], {"name": name, **params}, "model")


def build_model(
    name: str, input_dim: InputSpec, tasks: Sequence[str], params: Mapping | ModelParams
) -> nn.Module:
    """Build ``name`` for inputs of ``input_dim`` (dense width or ``FeatureLayout``) and ``tasks``.

    ``model(x)`` returns ``{task: logits (batch,)}``. Unknown names or bad parameters raise
    ``ConfigError`` (a ``ValueError``) naming the key and what is allowed.
    """
    if not tasks or len(set(tasks)) != len(tasks):
        raise ConfigError(f"tasks must be distinct names, got {list(tasks)}.")
    if name not in NETWORKS:
        raise ConfigError(f"{name!r} is not a network; networks: {', '.join(NETWORKS)}.")
    p = model_params(name, params)
    spec = p.numeric_embedding
    if spec is None:
        return _network(p, input_dim, tasks)
    if not isinstance(input_dim, FeatureLayout):
        raise ConfigError("numeric_embedding needs the compact input (a FeatureLayout).")
    embedding = PeriodicNumbers(input_dim.n_numeric, spec.frequencies, spec.dim, spec.sigma)
    numbers = tuple(f"{n}__{i}" for n in input_dim.numeric for i in range(spec.dim))
    widened = FeatureLayout(numbers, input_dim.categorical)
    return EmbeddedNumbers(embedding, _network(p, widened, tasks))


def _network(p: NetworkParams, input_dim: InputSpec, tasks: Sequence[str]) -> nn.Module:
    mlp = {"dropout": p.dropout, "norm": p.norm, "activation": p.activation}
    towers = p.tower_hidden_units
    if p.name in ("ple", "cgc"):
        levels = [level.model_dump() for level in p.levels]
        return PLE(input_dim, tasks, levels, p.gate_hidden_units, towers, **mlp)
    if p.name == "mmoe":
        level = {
            "experts_per_task": 0,
            "shared_experts": p.num_experts,
            "expert_hidden_units": p.expert_hidden_units,
        }
        return PLE(input_dim, tasks, [level], p.gate_hidden_units, towers, **mlp)
    if p.name == "share_bottom":
        return SharedBottom(input_dim, tasks, p.bottom_hidden_units, towers, **mlp)
    return SingleTask(input_dim, tasks, p.hidden_units, towers, **mlp)
