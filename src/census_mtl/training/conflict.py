"""Task conflict, measured once per epoch: the cosine similarity of the tasks' gradients on the
parameters they share, and each task's training loss against its first epoch's."""

from __future__ import annotations

import itertools

import torch
from torch import nn

from census_mtl.balancing.base import task_gradients
from census_mtl.training.data import TensorData
from census_mtl.training.loss import MultiTaskLoss

PROBE_ROWS = 1024  # the first rows of the training data: one batch


def gradient_cosines(model: nn.Module, loss_fn: MultiTaskLoss, data: TensorData) -> dict:
    """``grad_cos_<a>__<b>`` for each pair of tasks: the cosine of their losses' gradients on
    the parameter elements that both reach (``_cosine``), over the first ``PROBE_ROWS``
    training rows, the model in eval mode (no dropout draws: training's random numbers are
    untouched). One gradient per task; nothing for a model whose tasks share no parameter
    (single-task)."""
    was_training = model.training
    model.eval()
    try:
        index = torch.arange(min(PROBE_ROWS, len(data)), device=data.x.device)
        losses, _, _ = loss_fn.parts(model(data.x[index]), data.y[index], data.w[index])
        _, per_task, counts = task_gradients(model, losses)
    finally:
        model.train(was_training)
    shared = [k for k, count in enumerate(counts) if count > 1]
    if not shared:
        return {}
    return {
        f"grad_cos_{loss_fn.tasks[i]}__{loss_fn.tasks[j]}": _cosine(
            [per_task[i][k] for k in shared], [per_task[j][k] for k in shared]
        )
        for i, j in itertools.combinations(range(len(per_task)), 2)
    }


def _cosine(a: list[torch.Tensor | None], b: list[torch.Tensor | None]) -> float:
    """Cosine of two tasks' gradients over the elements where both are non-zero (a stacked
    tensor's other slices belong to other tasks)."""
    pairs = [(x, y) for x, y in zip(a, b, strict=True) if x is not None and y is not None]
    both = [(x != 0) & (y != 0) for x, y in pairs]
    flat_a = torch.cat([x[m] for (x, _), m in zip(pairs, both, strict=True)])
    flat_b = torch.cat([y[m] for (_, y), m in zip(pairs, both, strict=True)])
    if not len(flat_a):
        return float("nan")
    return float(torch.nn.functional.cosine_similarity(flat_a, flat_b, dim=0))


def loss_ratios(row: dict[str, float], first: dict[str, float], tasks: list[str]) -> dict:
    """``loss_ratio_<task>``: the epoch's training loss of each task over its first epoch's."""
    return {
        f"loss_ratio_{t}": row[f"train_loss_{t}"] / first[f"train_loss_{t}"]
        if first[f"train_loss_{t}"]
        else float("nan")
        for t in tasks
    }
