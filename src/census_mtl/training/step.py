"""How a training epoch updates the weights: the reference step (``torch.optim``, a per-step
learning-rate schedule, ``AveragedModel``) or, with the speed kernels on and ``compile``, the
fused step of ``census_mtl.ops.fused_step``. Both take the same batches, follow the same
schedule and keep the same kind of state, so the loop has one path.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from census_mtl import ops
from census_mtl.config.training import Optimizer, Schedule, Training
from census_mtl.ops.fused_step import FusedStep, fusable
from census_mtl.training.data import TensorData, batches
from census_mtl.training.loss import MultiTaskLoss

OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}


class Step(Protocol):
    """What the loop asks of a step: an epoch's mean losses, the weights to score, its state."""

    scored: torch.nn.Module

    def epoch(self, data: TensorData, order: torch.Tensor) -> list[float]: ...

    def state_dict(self) -> dict: ...

    def load_state_dict(self, state: dict) -> None: ...

    def close(self) -> None: ...


def make_optimizer(model: torch.nn.Module, spec: Optimizer) -> torch.optim.Optimizer:
    """Adam or AdamW over every parameter, fused: one kernel for every parameter's update."""
    return OPTIMIZERS[spec.name](
        model.parameters(), lr=spec.learning_rate, weight_decay=spec.weight_decay, fused=True
    )


def schedule_factor(spec: Schedule, steps_per_epoch: int, epochs: int) -> Callable[[int], float]:
    """The learning-rate factor of each step: linear warm-up, then cosine decay to
    ``min_factor`` (or constant)."""
    warmup, total = spec.warmup_epochs * steps_per_epoch, epochs * steps_per_epoch

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if spec.name == "constant":
            return 1.0
        progress = min(1.0, (step - warmup) / max(1.0, total - warmup))
        return spec.min_factor + (1 - spec.min_factor) * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


class EagerStep:
    """The reference step: ``loss.backward()``, ``torch.optim``'s Adam or AdamW, then the
    schedule's ``LambdaLR`` and the weight average, each only where configured."""

    def __init__(
        self, model: torch.nn.Module, loss_fn: MultiTaskLoss, settings: Training, steps: int
    ) -> None:
        self.model, self.loss_fn, self.batch_size = model, loss_fn, settings.batch_size
        self.forward = torch.compile(model) if settings.compile else model
        self.optimizer = make_optimizer(model, settings.optimizer)
        schedule = settings.schedule
        self.scheduler = None
        if schedule.name != "constant" or schedule.warmup_epochs:
            factor = schedule_factor(schedule, steps, settings.max_epochs)
            self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, factor)
        self.ema = None
        if settings.ema_decay is not None:
            average = get_ema_multi_avg_fn(settings.ema_decay)
            self.ema = AveragedModel(model, multi_avg_fn=average, use_buffers=True)

    @property
    def scored(self) -> torch.nn.Module:
        return self.model if self.ema is None else self.ema.module

    def epoch(self, data: TensorData, order: torch.Tensor) -> list[float]:
        """One pass over the rows that ``order`` lists; the mean total and per-task losses."""
        sums = torch.zeros(len(self.loss_fn.tasks) + 1, device=order.device)
        for index in batches(order, self.batch_size):
            x, y, w = data.rows(index)
            total, per_task = self.loss_fn(self.forward(x), y, w)
            self.optimizer.zero_grad(set_to_none=True)
            total.backward()
            self.optimizer.step()
            if self.scheduler is not None:
                self.scheduler.step()
            if self.ema is not None:
                self.ema.update_parameters(self.model)
            sums += torch.stack([total.detach(), *(v.detach() for v in per_task.values())])
        return (sums / math.ceil(len(order) / self.batch_size)).tolist()

    def state_dict(self) -> dict:
        return {
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler else None,
            "ema": self.ema.state_dict() if self.ema else None,
        }

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        if self.ema is not None:
            self.ema.load_state_dict(state["ema"])

    def close(self) -> None:
        """Nothing to undo: the model's parameters are its own."""


def make_step(
    model: torch.nn.Module, loss_fn: MultiTaskLoss, settings: Training, rows: int
) -> Step:
    """The fused step where ``compile`` and the speed kernels are on and the model has no
    batch norm (its running statistics cannot update inside the fused gradient), else the
    reference step (compiled with ``compile``)."""
    steps = math.ceil(rows / settings.batch_size)
    if not (settings.compile and ops.fast() and fusable(model)):
        return EagerStep(model, loss_fn, settings, steps)
    factor = schedule_factor(settings.schedule, steps, settings.max_epochs)
    rate = settings.optimizer.learning_rate
    return FusedStep(
        model,
        loss_fn,
        settings.optimizer,
        settings.ema_decay,
        settings.batch_size,
        lambda step: rate * factor(step),
    )
