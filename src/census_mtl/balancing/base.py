"""What every balancer shares: the update of plain summed losses, and which parameters the tasks
share.

A balancer receives the tasks' weighted losses of a batch (``MultiTaskLoss.parts``: one tensor
per task, a task without a labelled row in the batch contributing 0), the term that
no task owns (AITM's calibrator) and which tasks have labelled rows, and leaves the gradient of
its update in the parameters' ``.grad``. ``equal`` is this base class: the sum, as the loss
configuration weights it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def task_gradients(
    model: nn.Module, losses: Sequence[torch.Tensor]
) -> tuple[list[nn.Parameter], list[tuple[torch.Tensor | None, ...]], list[int]]:
    """``model``'s trainable parameters, each task's gradient on them (``None`` where its loss
    does not reach one) and, per parameter, how many tasks reach it: the most tasks with a
    non-zero gradient at any one of its elements, since a stacked tensor holds every task's
    tower and each task's gradient fills its own slice only. One gradient per task of
    ``losses``, one batch's tasks' losses, the graph kept for the caller."""
    params = [p for p in model.parameters() if p.requires_grad]
    grads = [
        torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True) for loss in losses
    ]
    counts = [_reach([task[k] for task in grads]) for k in range(len(params))]
    return params, grads, counts


def _reach(gradients: Sequence[torch.Tensor | None]) -> int:
    nonzero = [g != 0 for g in gradients if g is not None]
    return int(torch.stack(nonzero).sum(0).max()) if nonzero else 0


def shared_parameters(
    model: nn.Module, losses: Sequence[torch.Tensor]
) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
    """The parameters that more than one task's loss reaches through the graph (experts, shared
    layers, gates mixing them) and those that one task alone reaches (its tower, its last
    experts, its slice of the stacked towers), found from ``losses`` by ``task_gradients``:
    call it with a batch where every task has a labelled row."""
    params, _, counts = task_gradients(model, losses)
    return (
        [p for p, c in zip(params, counts, strict=True) if c > 1],
        [p for p, c in zip(params, counts, strict=True) if c == 1],
    )


class Balancer(nn.Module):
    """``equal``: the update of the sum of the weighted losses."""

    def __init__(self, tasks: list[str]) -> None:
        super().__init__()
        self.tasks = tasks
        self.register_buffer("weight_sum", torch.zeros(len(tasks)))
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))

    def weights(self, present: torch.Tensor) -> torch.Tensor:
        """The tasks' weights for this step (1 for ``equal``)."""
        return torch.ones(len(self.tasks))

    def trainable(self) -> list[nn.Parameter]:
        """Parameters of the balancer that the model's optimiser trains with the network."""
        return list(self.parameters())

    def backward(
        self,
        model: nn.Module,
        losses: Sequence[torch.Tensor],
        extra: torch.Tensor | float,
        present: torch.Tensor,
    ) -> None:
        """Gradients into ``.grad`` of ``model``'s parameters (and the balancer's own)."""
        (self.objective(model, torch.stack(list(losses)), present) + extra).backward()

    def objective(
        self, model: nn.Module, losses: torch.Tensor, present: torch.Tensor
    ) -> torch.Tensor:
        """The scalar whose gradient is the update: the weighted sum of ``losses``."""
        weights = self.weights(present)
        self.record(weights)
        return torch.dot(weights.to(losses), losses)

    def record(self, weights: torch.Tensor) -> None:
        """Add a step's weights to the epoch's mean (the training history shows it)."""
        self.weight_sum += weights.detach().to(self.weight_sum)
        self.steps += 1

    def end_epoch(self, task_losses: list[float]) -> dict[str, float]:
        """The epoch's mean weight per task; ``task_losses``: its mean loss per task."""
        mean = (self.weight_sum / self.steps.clamp_min(1)).tolist()
        self.weight_sum.zero_()
        self.steps.zero_()
        return dict(zip(self.tasks, mean, strict=True))
