"""Task conflict, measured once per epoch: the cosine similarity of the tasks' gradients on the
parameters they share, and each task's training loss against its first epoch's."""

from __future__ import annotations

import itertools

import torch
from torch import nn

from census_mtl.balancing import shared_parameters
from census_mtl.training.data import TensorData
from census_mtl.training.loss import MultiTaskLoss

PROBE_ROWS = 4096  # the first rows of the training data


def gradient_cosines(model: nn.Module, loss_fn: MultiTaskLoss, data: TensorData) -> dict:
    """``grad_cos_<a>__<b>`` for each pair of tasks: the cosine of their losses' gradients on the
    shared parameters, over the first ``PROBE_ROWS`` training rows, the model in eval mode (no
    dropout draws: training's random numbers are untouched). Nothing for a model whose tasks
    share no parameter (single-task)."""
    was_training = model.training
    model.eval()
    try:
        index = torch.arange(min(PROBE_ROWS, len(data)), device=data.x.device)
        losses, _, _ = loss_fn.parts(model(data.x[index]), data.y[index], data.w[index])
        shared, _ = shared_parameters(model, losses)
        grads = [_flat_grad(loss, shared) for loss in losses] if shared else []
    finally:
        model.train(was_training)
    return {
        f"grad_cos_{loss_fn.tasks[i]}__{loss_fn.tasks[j]}": float(
            torch.nn.functional.cosine_similarity(grads[i], grads[j], dim=0)
        )
        for i, j in itertools.combinations(range(len(grads)), 2)
    }


def _flat_grad(loss: torch.Tensor, params: list[nn.Parameter]) -> torch.Tensor:
    grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
    pairs = zip(grads, params, strict=True)
    return torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1) for g, p in pairs])


def loss_ratios(row: dict[str, float], first: dict[str, float], tasks: list[str]) -> dict:
    """``loss_ratio_<task>``: the epoch's training loss of each task over its first epoch's."""
    return {
        f"loss_ratio_{t}": row[f"train_loss_{t}"] / first[f"train_loss_{t}"]
        if first[f"train_loss_{t}"]
        else float("nan")
        for t in tasks
    }
