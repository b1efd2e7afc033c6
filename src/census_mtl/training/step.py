"""How a training epoch updates the weights: the reference step (``torch.optim``, a per-step
learning-rate schedule, ``AveragedModel``) or, with the speed kernels on and ``compile``, the
fused step of ``census_mtl.ops.fused_step``. Both take the same batches, follow the same
schedule and keep the same kind of state, so the loop has one path.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from typing import Protocol

import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from census_mtl import ops
from census_mtl.balancing import make_balancer
from census_mtl.config.training import Optimizer, Schedule, Training
from census_mtl.ops.fused_step import FusedStep, fusable
from census_mtl.training.data import TensorData, batches
from census_mtl.training.device import has_compiler
from census_mtl.training.loss import MultiTaskLoss

OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}
AUTO_MIN_STEPS = 1000  # compile: auto compiles runs of at least this many planned steps
logger = logging.getLogger(__name__)


class Step(Protocol):
    """What the loop asks of a step: an epoch's mean losses, the weights to score, its state."""

    scored: torch.nn.Module

    def epoch(self, data: TensorData, order: torch.Tensor) -> list[float]: ...

    def state_dict(self) -> dict: ...

    def load_state_dict(self, state: dict) -> None: ...

    def diagnostics(self) -> dict[str, float]: ...

    def close(self) -> None: ...


def make_optimizer(params: Iterable[torch.Tensor], spec: Optimizer) -> torch.optim.Optimizer:
    """Adam or AdamW over ``params``, fused: one kernel for every parameter's update."""
    return OPTIMIZERS[spec.name](
        params, lr=spec.learning_rate, weight_decay=spec.weight_decay, fused=True
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
    """The reference step: the balancer's backward pass (``equal``: ``loss.backward()``),
    ``torch.optim``'s Adam or AdamW, then the schedule's ``LambdaLR`` and the weight average,
    each only where configured."""

    def __init__(
        self, model: torch.nn.Module, loss_fn: MultiTaskLoss, settings: Training, steps: int
    ) -> None:
        self.model, self.loss_fn, self.batch_size = model, loss_fn, settings.batch_size
        self.forward = torch.compile(model) if settings.compile is True else model
        device = next(model.parameters()).device
        self.balancer = make_balancer(settings.balancing, loss_fn.tasks).to(device)
        params = [*model.parameters(), *self.balancer.trainable()]
        self.optimizer = make_optimizer(params, settings.optimizer)
        self.weights = dict.fromkeys(loss_fn.tasks, 1.0)
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
            losses, extra, per_task = self.loss_fn.parts(self.forward(x), y, w)
            self.optimizer.zero_grad(set_to_none=True)
            self.balancer.backward(self.model, losses, extra, ~torch.isnan(y).all(0))
            self.optimizer.step()
            if self.scheduler is not None:
                self.scheduler.step()
            if self.ema is not None:
                self.ema.update_parameters(self.model)
            total = sum(v.detach() for v in losses) + (
                extra.detach() if torch.is_tensor(extra) else extra
            )
            sums += torch.stack([total, *(v.detach() for v in per_task.values())])
        means = (sums / math.ceil(len(order) / self.batch_size)).tolist()
        self.weights = self.balancer.end_epoch(means[1:])
        return means

    def diagnostics(self) -> dict[str, float]:
        """The epoch's mean weight of each task (``weight_<task>``)."""
        return {f"weight_{t}": w for t, w in self.weights.items()}

    def state_dict(self) -> dict:
        return {
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler else None,
            "ema": self.ema.state_dict() if self.ema else None,
            "balancer": self.balancer.state_dict(),
            "weights": self.weights,
        }

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.balancer.load_state_dict(state["balancer"])
        self.weights = state["weights"]
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        if self.ema is not None:
            self.ema.load_state_dict(state["ema"])

    def close(self) -> None:
        """Nothing to undo: the model's parameters are its own."""


def fuses(model: torch.nn.Module, settings: Training) -> bool:
    """Whether the fused step can train ``model``: the speed kernels on, the tasks balanced
    ``equal`` (it sums the losses) and no batch norm (its running statistics cannot update
    inside the fused gradient)."""
    return ops.fast() and fusable(model) and settings.balancing.method == "equal"


def compiles(model: torch.nn.Module, settings: Training, steps: int) -> bool:
    """Whether the step is compiled: ``compile: true``, or ``auto`` where it pays, i.e. the fused
    step applies (``fuses``), a compiler is at hand (CUDA, or a C++ compiler on the CPU) and
    the run plans ``AUTO_MIN_STEPS`` steps or more (a compile takes 5-20 s, which a short run
    never wins back)."""
    if settings.compile != "auto":
        return settings.compile
    device = next(model.parameters()).device.type
    planned = steps * settings.max_epochs
    fused = fuses(model, settings)
    compiler = device == "cuda" or (device == "cpu" and has_compiler())
    chosen = fused and compiler and planned >= AUTO_MIN_STEPS
    logger.info(
        "compile: auto -> %s (%s step, %s, %d planned steps)",
        "compiled" if chosen else "eager",
        "fused" if fused else "reference",
        "compiler found" if compiler else f"no compiler for {device}",
        planned,
    )
    return chosen


def make_step(
    model: torch.nn.Module, loss_fn: MultiTaskLoss, settings: Training, rows: int
) -> Step:
    """The fused step where the step compiles (``compiles``) and the fused step applies
    (``fuses``), else the reference step (its model compiled where the step compiles)."""
    steps = math.ceil(rows / settings.batch_size)
    compiled = compiles(model, settings, steps)
    if not (compiled and fuses(model, settings)):
        if compiled and settings.balancing.method != "equal":
            logger.info(
                "balancing %s trains through the reference step (compiled model, torch.optim): "
                "the fused step sums the losses.",
                settings.balancing.method,
            )
        return EagerStep(model, loss_fn, settings.model_copy(update={"compile": compiled}), steps)
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
