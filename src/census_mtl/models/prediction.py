"""Batched prediction: per-task outputs of a network, in evaluation mode."""

from __future__ import annotations

import torch

from census_mtl.config.training import INFERENCE_BATCH
from census_mtl.models.funnel import in_space_probs
from census_mtl.models.registry import heads


def task_types(model: torch.nn.Module) -> tuple[str, ...]:
    """The network's task types in task order (``build_model`` sets them; else all binary)."""
    return tuple(getattr(model, "task_types", None) or ("binary",) * len(model.tasks))


def binary_mask(model: torch.nn.Module) -> torch.Tensor:
    """``(tasks,)`` True where a task is binary (its output is a logit), in task order."""
    return torch.tensor([t == "binary" for t in task_types(model)])


def to_outputs(logits: torch.Tensor, binary: torch.Tensor) -> torch.Tensor:
    """Probabilities of the binary tasks' columns, values of the regression tasks' columns."""
    return torch.where(binary.to(logits.device), torch.sigmoid(logits), logits)


def spaces(model: torch.nn.Module) -> dict[str, str]:
    """The funnel steps of ``model``'s tasks and the step before each (none: no funnel)."""
    return dict(getattr(model, "spaces", None) or {})


def outputs_of(model: torch.nn.Module, logits: torch.Tensor) -> torch.Tensor:
    """``(N, tasks)`` outputs from stacked logits: a binary task's probability (a funnel step's
    in its space), a regression task's value."""
    outputs = to_outputs(logits, binary_mask(model))
    if getattr(heads(model), "output_space", None) == "entire":  # AITM: steps over all rows
        outputs = in_space_probs(outputs, list(model.tasks), spaces(model))
    return outputs


@torch.no_grad()
def predict(
    model: torch.nn.Module, x: torch.Tensor, batch_size: int = INFERENCE_BATCH
) -> torch.Tensor:
    """``(N, tasks)`` in the order of ``model.tasks``, in evaluation mode: a binary task's
    probability, a regression task's value."""
    was_training = model.training
    model.eval()
    chunks = []
    for start in range(0, len(x), batch_size):
        logits = model(x[start : start + batch_size])
        chunks.append(torch.stack([logits[t] for t in model.tasks], dim=1))
    model.train(was_training)
    return outputs_of(model, torch.cat(chunks)).cpu()
