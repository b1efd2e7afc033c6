"""The multi-task loss: weighted per-task BCE or MSE, optional sample weights and task spaces.

Each task's loss is a weighted mean over the batch of BCE-with-logits (a ``binary`` task) or
squared error (a ``regression`` task). A row's weight is the
product of its sample weight (census ``instance_weight``, when ``use_sample_weight``) and, for a
task with a ``task_space``, ``in_space_weight`` where the indicator task's label is 1 and
``out_space_weight`` elsewhere (TorchEasyRec's task-space indicator: with
``out_space_weight: 0`` a task learns only inside the other task's positives). The total is
``sum(task_weight * task_loss)``. The settings are declared in ``census_mtl.config.training``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F

from census_mtl.config.training import Loss

LOSSES = {"binary": F.binary_cross_entropy_with_logits, "regression": F.mse_loss}


class MultiTaskLoss:
    """Callable ``(logits, labels, sample_weight) -> (total, {task: loss})``."""

    def __init__(
        self, tasks: Sequence[str], config: Loss, task_types: Sequence[str] | None = None,
        scale: torch.Tensor | None = None,
    ) -> None:  # fmt: skip
        self.tasks = list(tasks)
        types = task_types or ["binary"] * len(self.tasks)
        self.losses = [LOSSES[t] for t in types]
        # A regression task's squared error in units of its label variance (``scale``: the
        # network's output scales), so that its loss weighs like a BCE whatever the units.
        self.divisors = (scale.detach() ** 2).tolist() if scale is not None else [1.0] * len(types)
        self.task_weights = [float(config.task_weights.get(t, 1.0)) for t in self.tasks]
        self.spaces = config.task_space
        self.use_sample_weight = config.use_sample_weight

    def __call__(
        self, logits: Mapping[str, torch.Tensor], labels: torch.Tensor, sample_weight: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        per_task = {}
        for i, task in enumerate(self.tasks):
            row_weight = sample_weight if self.use_sample_weight else None
            space = self.spaces.get(task)
            if space:
                inside = labels[:, self.tasks.index(space.indicator)] > 0.5
                in_out = torch.where(inside, space.in_space_weight, space.out_space_weight)
                row_weight = in_out if row_weight is None else row_weight * in_out
            loss, divisor = self.losses[i], self.divisors[i]
            if row_weight is None:
                per_task[task] = loss(logits[task], labels[:, i]) / divisor
                continue
            rows = loss(logits[task], labels[:, i], reduction="none") / divisor
            per_task[task] = (rows * row_weight).sum() / row_weight.sum().clamp_min(1e-12)
        total = sum(w * per_task[t] for w, t in zip(self.task_weights, self.tasks, strict=True))
        return total, per_task
