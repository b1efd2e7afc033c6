"""What the gates do: each gate's mean weight per expert, entropy and expert utilisation.

Every ``ExtractionLevel`` (PLE's levels, CGC's one, MMoE's one) sends its softmax weights
``(gates, rows, experts)`` through ``gate_probe``; a forward hook there collects them while the
network scores rows in evaluation mode. Gates are named after their task (``shared`` for a
PLE level's shared gate), experts ``<task>.<i>`` or ``shared.<i>``. A forbidden expert (another
task's) has weight exactly 0 and is listed under no gate's ``allowed``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from census_mtl.config.training import INFERENCE_BATCH
from census_mtl.models.networks import ExtractionLevel


def levels_of(network: torch.nn.Module) -> list[ExtractionLevel]:
    """The network's extraction levels, bottom first (none for a network without gates)."""
    return [m for m in network.modules() if isinstance(m, ExtractionLevel)]


def _names(level: ExtractionLevel, tasks: Sequence[str]) -> tuple[list[str], list[str]]:
    experts = [f"{t}.{i}" for t in tasks for i in range(level.experts_per_task)]
    experts += [f"shared.{i}" for i in range(level.allowed.shape[1] - len(experts))]
    gates = list(tasks) + ["shared"] * (level.allowed.shape[0] - len(tasks))
    return gates, experts


@torch.no_grad()
def gate_weights(
    network: torch.nn.Module, x: torch.Tensor, batch_size: int = INFERENCE_BATCH
) -> list:
    """Each level's gate weights ``(gates, rows, experts)`` on the rows ``x``."""
    levels = levels_of(network)
    parts: list[list[torch.Tensor]] = [[] for _ in levels]
    hooks = [
        level.gate_probe.register_forward_hook(
            lambda _m, _i, out, k=k: parts[k].append(out.detach().cpu())
        )
        for k, level in enumerate(levels)
    ]
    was_training = network.training
    network.eval()
    try:
        for start in range(0, len(x), batch_size):
            network(x[start : start + batch_size])
    finally:
        for hook in hooks:
            hook.remove()
        network.train(was_training)
    return [torch.cat(p, dim=1).numpy() for p in parts]


def gate_usage(
    network: torch.nn.Module, x: torch.Tensor, threshold: float, batch_size: int = INFERENCE_BATCH
) -> dict:
    """Per level and gate: mean weight per expert, mean entropy (nats; ``max_entropy`` is a
    uniform gate's), utilisation (share of rows on which an expert weighs most), which experts
    the gate may use (``allowed``) and which of those weigh under ``threshold`` (``unused``).
    Only numbers and booleans: the evaluation's metrics file is DVC metrics."""
    usage = {}
    for k, (level, weights) in enumerate(
        zip(levels_of(network), gate_weights(network, x, batch_size), strict=True)
    ):
        gates, experts = _names(level, network.tasks)
        allowed = level.allowed.cpu().numpy()
        top = weights.argmax(-1)
        usage[f"level{k + 1}"] = {
            gate: _gate(weights[g], top[g], allowed[g], experts, threshold)
            for g, gate in enumerate(gates)
        }
    return usage


def _gate(
    weights: np.ndarray, top: np.ndarray, allowed: np.ndarray, experts: list[str], threshold: float
) -> dict:
    mean = weights.mean(0)
    entropy = -(weights * np.log(np.where(weights > 0, weights, 1.0))).sum(-1).mean()
    share = np.bincount(top, minlength=len(experts)) / len(top)
    return {
        "mean_weight": {e: float(w) for e, w in zip(experts, mean, strict=True)},
        "entropy": float(entropy),
        "max_entropy": float(np.log(allowed.sum())),
        "utilisation": {e: float(s) for e, s in zip(experts, share, strict=True)},
        "allowed": {e: bool(a) for e, a in zip(experts, allowed, strict=True)},
        "unused": {
            e: bool(w < threshold) for e, w, a in zip(experts, mean, allowed, strict=True) if a
        },
    }
