"""The multi-task loss: weighted per-task BCE, optional sample weights and task spaces.

Each task's loss is a weighted mean of BCE-with-logits over the batch. A row's weight is the
product of its sample weight (census ``instance_weight``, when ``use_sample_weight``) and, for a
task with a ``task_space``, ``in_space_weight`` where the indicator task's label is 1 and
``out_space_weight`` elsewhere (TorchEasyRec's task-space indicator: with
``out_space_weight: 0`` a task learns only inside the other task's positives). The total is
``sum(task_weight * task_loss)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F

SPACE_KEYS = {"indicator", "in_space_weight", "out_space_weight"}


class MultiTaskLoss:
    """Callable ``(logits, labels, sample_weight) -> (total, {task: loss})``."""

    def __init__(self, tasks: Sequence[str], config: Mapping) -> None:
        allowed = {"task_weights", "use_sample_weight", "task_space"}
        unknown = set(config) - allowed
        if unknown:
            raise ValueError(f"loss: unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}.")
        self.tasks = list(tasks)
        weights = dict(config.get("task_weights") or {})
        spaces = dict(config.get("task_space") or {})
        for where, named in (("task_weights", weights), ("task_space", spaces)):
            stray = set(named) - set(tasks)
            if stray:
                raise ValueError(
                    f"loss.{where}: unknown tasks {sorted(stray)}; tasks: {self.tasks}."
                )
        for task, space in spaces.items():
            if (
                set(space) != SPACE_KEYS
                or space["indicator"] not in tasks
                or space["indicator"] == task
            ):
                raise ValueError(
                    f"loss.task_space.{task} needs exactly {sorted(SPACE_KEYS)}, with indicator "
                    f"another task of {self.tasks}; got {dict(space)}."
                )
        self.task_weights = [float(weights.get(t, 1.0)) for t in self.tasks]
        self.spaces = spaces
        self.use_sample_weight = bool(config.get("use_sample_weight", False))

    def __call__(
        self, logits: Mapping[str, torch.Tensor], labels: torch.Tensor, sample_weight: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        per_task = {}
        for i, task in enumerate(self.tasks):
            row_weight = sample_weight if self.use_sample_weight else None
            space = self.spaces.get(task)
            if space:
                inside = labels[:, self.tasks.index(space["indicator"])] > 0.5
                in_out = torch.where(inside, space["in_space_weight"], space["out_space_weight"])
                row_weight = in_out if row_weight is None else row_weight * in_out
            if row_weight is None:
                per_task[task] = F.binary_cross_entropy_with_logits(logits[task], labels[:, i])
                continue
            bce = F.binary_cross_entropy_with_logits(logits[task], labels[:, i], reduction="none")
            per_task[task] = (bce * row_weight).sum() / row_weight.sum().clamp_min(1e-12)
        total = sum(w * per_task[t] for w, t in zip(self.task_weights, self.tasks, strict=True))
        return total, per_task
