"""``build_model``: a network from its name and parameters (declared in ``census_mtl.config``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import get_args

import torch
from torch import nn

from census_mtl.config import MODELS, NETWORKS, ConfigError, ModelParams, NetworkParams, validate
from census_mtl.config.network import PeriodicEmbedding, PiecewiseLinearEmbedding
from census_mtl.config.project import TaskType
from census_mtl.models.aitm import AITM
from census_mtl.models.esmm import ESMM
from census_mtl.models.inputs import FeatureLayout, InputSpec
from census_mtl.models.networks import PLE, ShareBottom, SingleTask
from census_mtl.models.numeric import EmbeddedNumbers, PeriodicNumbers, PiecewiseLinearNumbers

TASK_TYPES = get_args(TaskType)
CONVERSION = ("esmm", "aitm")  # the funnel models: every task binary, the compact input


def model_params(name: str, params: Mapping | ModelParams) -> ModelParams:
    """``params`` of model ``name``, typed; a bad name or value raises ``ConfigError``."""
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; allowed: {', '.join(MODELS)}.")
    if isinstance(params, MODELS[name]):
        return params
    return validate(MODELS[name], {"name": name, **params}, "model")


def build_model(
    name: str,
    input_dim: InputSpec,
    tasks: Sequence[str],
    params: Mapping | ModelParams,
    task_types: Sequence[str] | None = None,
    spaces: Mapping[str, str] | None = None,
) -> nn.Module:
    """Build ``name`` for inputs of ``input_dim`` (dense width or ``FeatureLayout``) and ``tasks``.

    ``model(x)`` returns ``{task: output (batch,)}``: a logit for a ``binary`` task, the value
    itself for a ``regression`` one (``task_types``, in task order; default all binary), kept
    as ``model.task_types``. ``spaces`` (kept as ``model.spaces``) maps each funnel step to the
    step before it (``census_mtl.models.funnel``). Unknown names or bad parameters raise
    ``ConfigError`` (a ``ValueError``) naming the key and what is allowed.
    """
    if not tasks or len(set(tasks)) != len(tasks):
        raise ConfigError(f"tasks must be distinct names, got {list(tasks)}.")
    types = tuple(task_types or ["binary"] * len(tasks))
    if len(types) != len(tasks) or not set(types) <= set(TASK_TYPES):
        raise ConfigError(f"task_types must be one of {TASK_TYPES} per task, got {list(types)}.")
    if name in CONVERSION and set(types) != {"binary"}:
        raise ConfigError(f"{name} models funnels of binary tasks; task types: {list(types)}.")
    model = _build(name, input_dim, tasks, params)
    model.task_types, model.spaces = types, dict(spaces or {})
    heads(model).spaces = model.spaces  # a funnel model's ensemble mixes along its funnel
    if hasattr(heads(model), "regression"):
        heads(model).regression.copy_(torch.tensor([t == "regression" for t in types]))
    if "regression" in types:  # binary-only networks keep the state_dict of earlier versions
        heads(model).scale_outputs(torch.zeros(len(tasks)), torch.ones(len(tasks)))
    return model


def heads(model: nn.Module) -> nn.Module:
    """The multi-task network inside ``model`` (behind its numeric embedding, if any)."""
    return model.network if isinstance(model, EmbeddedNumbers) else model


def fit_to_training_rows(model: nn.Module, x: torch.Tensor, labels: torch.Tensor) -> None:
    """What a network takes from its training rows before it trains: the bins of its
    piecewise-linear embeddings, and its regression outputs' scales."""
    embedding = getattr(model, "embedding", None)
    if isinstance(embedding, PiecewiseLinearNumbers):
        embedding.fit_bins(x[:, : embedding.n].cpu(), labels.cpu(), model.tasks, model.task_types)
    standardise_outputs(model, labels)


def standardise_outputs(model: nn.Module, labels: torch.Tensor) -> None:
    """Set each regression task's output shift and scale to its training labels' mean and std
    (a network without regression tasks is left as it is)."""
    network = heads(model)
    if not hasattr(network, "output_scale"):
        return
    regression = torch.tensor([t == "regression" for t in model.task_types])
    mean, std = labels.mean(0).cpu(), labels.std(0).clamp_min(1e-6).cpu()
    network.scale_outputs(torch.where(regression, mean, 0.0), torch.where(regression, std, 1.0))


def _build(
    name: str, input_dim: InputSpec, tasks: Sequence[str], params: Mapping | ModelParams
) -> nn.Module:
    if name not in NETWORKS:
        raise ConfigError(f"{name!r} is not a network; networks: {', '.join(NETWORKS)}.")
    p = model_params(name, params)
    spec = p.numeric_embedding
    if spec is None:
        return _network(p, input_dim, tasks)
    if not isinstance(input_dim, FeatureLayout):
        raise ConfigError("numeric_embedding needs the compact input (a FeatureLayout).")
    embedding = _embedding(spec, input_dim.n_numeric, tasks)
    numbers = tuple(f"{n}__{i}" for n in input_dim.numeric for i in range(spec.dim))
    widened = FeatureLayout(numbers, input_dim.categorical)
    return EmbeddedNumbers(embedding, _network(p, widened, tasks))


def _embedding(
    spec: PeriodicEmbedding | PiecewiseLinearEmbedding, n: int, tasks: Sequence[str]
) -> PeriodicNumbers | PiecewiseLinearNumbers:
    if spec.kind == "periodic":
        return PeriodicNumbers(n, spec.frequencies, spec.dim, spec.sigma)
    tree_task = (spec.tree_task or tasks[0]) if spec.bins == "tree" else None
    return PiecewiseLinearNumbers(n, spec.n_bins, spec.dim, spec.activation, tree_task)


def _network(p: NetworkParams, input_dim: InputSpec, tasks: Sequence[str]) -> nn.Module:
    mlp = {"dropout": p.dropout, "norm": p.norm, "activation": p.activation}
    mlp["members"] = p.batch_ensemble
    towers = p.tower_hidden_units
    if p.name in CONVERSION and not isinstance(input_dim, FeatureLayout):
        raise ConfigError(f"{p.name} needs the compact input (a FeatureLayout): its embeddings.")
    if p.name == "esmm":
        return ESMM(input_dim, tasks, p.embedding_dim, p.hidden_units, towers, **mlp)
    if p.name == "aitm":
        return AITM(
            input_dim, tasks, p.embedding_dim, p.hidden_units, towers, p.calibrator_weight, **mlp
        )
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
        return ShareBottom(input_dim, tasks, p.bottom_hidden_units, towers, **mlp)
    return SingleTask(input_dim, tasks, p.hidden_units, towers, **mlp)
