"""Batched prediction: per-task outputs of a network, in evaluation mode."""

from __future__ import annotations

import torch

from census_mtl.config.training import INFERENCE_BATCH


def task_types(model: torch.nn.Module) -> tuple[str, ...]:
    """The network's task types in task order (``build_model`` sets them; else all binary)."""
    return tuple(getattr(model, "task_types", None) or ("binary",) * len(model.tasks))


def binary_mask(model: torch.nn.Module) -> torch.Tensor:
    """``(tasks,)`` True where a task is binary (its output is a logit), in task order."""
    return torch.tensor([t == "binary" for t in task_types(model)])


def to_outputs(logits: torch.Tensor, binary: torch.Tensor) -> torch.Tensor:
    """Probabilities of the binary tasks' columns, values of the regression tasks' columns."""
    return torch.where(binary.to(logits.device), torch.sigmoid(logits), logits)


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
    return to_outputs(torch.cat(chunks), binary_mask(model)).cpu()
