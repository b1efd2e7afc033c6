"""The multi-task loss: weighted per-task BCE or MSE over each task's labelled rows, optional
sample weights, task spaces, and the entire-space loss of the funnel models.

Each task's loss is a weighted mean of BCE-with-logits (a ``binary`` task) or squared error (a
``regression`` task) over the rows where its label is present: a missing label (NaN) weighs 0,
and a batch without one labelled row of a task adds 0 for it. A row's weight is the product of
its sample weight (census ``instance_weight``, when ``use_sample_weight``) and, for a task with
a ``task_space``, ``in_space_weight`` where the indicator task's label is 1 and
``out_space_weight`` elsewhere (TorchEasyRec's task-space indicator: with
``out_space_weight: 0`` a task learns only inside the other task's positives). The total is
``sum(task_weight * task_loss)``. The settings are declared in ``census_mtl.config.training``.

A funnel model (``entire_space_loss``: ESMM, AITM) is trained over the entire space instead: a
step's probability is the product along its funnel (ESMM) or its own output (AITM), its label
is 1 where every step so far is 1 (``census_mtl.models.funnel``), and AITM adds its calibrator,
``calibrator_weight * mean over rows of sum_t max(p_t - p_(t-1), 0)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F

from census_mtl.config.training import Loss
from census_mtl.models.funnel import entire_space_labels, product_logits
from census_mtl.models.prediction import spaces, task_types
from census_mtl.models.registry import heads

LOSSES = {"binary": F.binary_cross_entropy_with_logits, "regression": F.mse_loss}


class MultiTaskLoss:
    """Callable ``(logits, labels, sample_weight) -> (total, {task: loss})``."""

    def __init__(
        self,
        tasks: Sequence[str],
        config: Loss,
        task_types: Sequence[str] | None = None,
        scale: torch.Tensor | None = None,
        funnel: Mapping[str, str] | None = None,
        entire_space: str | None = None,
        calibrator_weight: float = 0.0,
    ) -> None:
        """``entire_space``: ``None`` (each step in its space), ``"product"`` (ESMM: outputs
        in space, the loss on their products) or ``"output"`` (AITM: outputs over all rows)."""
        self.tasks = list(tasks)
        types = task_types or ["binary"] * len(self.tasks)
        self.losses = [LOSSES[t] for t in types]
        # A regression task's squared error in units of its label variance (``scale``: the
        # network's output scales), so that its loss weighs like a BCE whatever the units.
        self.divisors = (scale.detach() ** 2).tolist() if scale is not None else [1.0] * len(types)
        self.task_weights = [float(config.task_weights.get(t, 1.0)) for t in self.tasks]
        self.spaces = config.task_space
        self.use_sample_weight = config.use_sample_weight
        self.funnel, self.entire_space = dict(funnel or {}), entire_space
        self.calibrator_weight = calibrator_weight

    @classmethod
    def of(cls, model: torch.nn.Module, config: Loss) -> MultiTaskLoss:
        """The loss of a network built by ``build_model``: its tasks, types and funnel."""
        network = heads(model)
        entire = None
        if getattr(network, "entire_space_loss", False):
            entire = "output" if getattr(network, "output_space", None) == "entire" else "product"
        scale = getattr(network, "output_scale", None)
        calibrator = getattr(network, "calibrator_weight", 0.0)
        return cls(model.tasks, config, task_types(model), scale, spaces(model), entire, calibrator)

    def __call__(
        self, logits: Mapping[str, torch.Tensor], labels: torch.Tensor, sample_weight: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The total loss and each task's (before its task weight)."""
        weighted, extra, per_task = self.parts(logits, labels, sample_weight)
        return sum(weighted) + extra, per_task

    def parts(
        self, logits: Mapping[str, torch.Tensor], labels: torch.Tensor, sample_weight: torch.Tensor
    ) -> tuple[list[torch.Tensor], torch.Tensor | float, dict[str, torch.Tensor]]:
        """The tasks' weighted losses (separate tensors: each one's graph reaches only what
        its task uses), the term that no one task owns (AITM's calibrator, else 0) and each
        task's loss before its weight."""
        members = len(logits[self.tasks[0]]) // len(labels)
        if members > 1:  # a BatchEnsemble in training: each member's rows, member-major
            labels, sample_weight = labels.repeat(members, 1), sample_weight.repeat(members)
        if self.entire_space is not None:
            labels = entire_space_labels(labels, self.tasks, self.funnel)
            if self.entire_space == "product":
                logits = product_logits(logits, self.funnel)
        weight = sample_weight if self.use_sample_weight else None
        per_task = {
            t: self._task_loss(i, logits[t], labels, weight) for i, t in enumerate(self.tasks)
        }
        weighted = [w * per_task[t] for w, t in zip(self.task_weights, self.tasks, strict=True)]
        extra = 0.0
        if self.calibrator_weight and self.entire_space == "output" and self.funnel:
            extra = self.calibrator_weight * self.calibration(logits)
        return weighted, extra, per_task

    def _task_loss(
        self, i: int, logits: torch.Tensor, labels: torch.Tensor, weight: torch.Tensor | None
    ) -> torch.Tensor:
        """Task ``i``'s weighted mean loss over its labelled rows of the batch."""
        task, label = self.tasks[i], labels[:, i]
        labelled = ~torch.isnan(label)
        row_weight = labelled.to(logits.dtype)
        if weight is not None:
            row_weight = row_weight * weight
        space = self.spaces.get(task)
        if space:
            inside = labels[:, self.tasks.index(space.indicator)] > 0.5
            row_weight = row_weight * torch.where(
                inside, space.in_space_weight, space.out_space_weight
            )
        rows = self.losses[i](logits, torch.where(labelled, label, 0.0), reduction="none")
        return (rows * row_weight).sum() / (self.divisors[i] * row_weight.sum().clamp_min(1e-12))

    def calibration(self, logits: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """AITM's Behavioral Expectation Calibrator: the mean over rows of the sum over funnel
        steps of ``max(p_t - p_(t-1), 0)``, probabilities over the entire space."""
        excess = [
            torch.relu(torch.sigmoid(logits[task]) - torch.sigmoid(logits[before]))
            for task, before in self.funnel.items()
        ]
        return torch.stack(excess).sum(0).mean()
