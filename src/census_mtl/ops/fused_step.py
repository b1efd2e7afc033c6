"""The fused training step: batch fetch, forward, loss, backward, Adam and the weight average in
one ``torch.compile`` graph.

At the sizes of the census networks a step is a few dozen small operators, and in eager mode
their dispatch, the autograd engine and the optimiser's Python cost more than the arithmetic.
Here every parameter is a view into one flat tensor, so that the gradient, Adam's moments and
the moving average are flat tensors too, and one compiled function (``torch.func`` gradient of
the loss, then the updates in place) does the whole step; inductor fuses it into a handful of
C++ kernels. The model's parameters stay views of the flat weights, so ``model`` always holds
the current weights; ``close`` gives every parameter its own storage again. On CUDA the
compiled step is captured once as a CUDA graph and replayed, one launch per step.

The arithmetic is that of the reference step, ``training.step.EagerStep`` (``torch.optim.Adam``/
``AdamW``, ``AveragedModel`` with ``get_ema_multi_avg_fn``); only rounding differs, and
``tests/ops/test_fused_step.py`` checks outputs, gradients and updates against the plain model.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import torch
from torch.func import functional_call, grad_and_value

from census_mtl.config.training import Optimizer
from census_mtl.training.data import TensorData, batches
from census_mtl.training.loss import MultiTaskLoss

BETAS, EPS = (0.9, 0.999), 1e-8
GRAPH_AFTER = 2  # compiled steps run before the CUDA graph is captured (compile, warm-up)
_COMPILED: list = []  # this process's compiled steps (``FusedStep._compiled``)


def flatten_parameters(model: torch.nn.Module) -> torch.Tensor:
    """One flat tensor holding every parameter of ``model``; the parameters become its views."""
    params = list(model.parameters())
    flat = torch.cat([p.detach().reshape(-1) for p in params])
    for p, view in zip(params, flat.split([p.numel() for p in params]), strict=True):
        p.data = view.view_as(p)
    return flat


def fusable(model: torch.nn.Module) -> bool:
    """Whether ``model`` can train through ``FusedStep``: batch norm's running statistics,
    updated in place inside the gradient transform, keep a model on the reference step."""
    return not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules())


class FusedStep:
    """Adam or AdamW on flat weights, one compiled call per training step (``compile_step``;
    without it the same function runs eagerly, as it does for a short last batch)."""

    def __init__(
        self,
        model: torch.nn.Module,
        loss_fn: MultiTaskLoss,
        spec: Optimizer,
        ema_decay: float | None,
        batch_size: int,
        learning_rate: Callable[[int], float],
        compile_step: bool = True,
    ) -> None:
        """``learning_rate(step)``: the rate of the ``step``-th step of the run (0-based)."""
        self.model, self.loss_fn, self.spec, self.ema_decay = model, loss_fn, spec, ema_decay
        self.batch_size, self.learning_rate = batch_size, learning_rate
        self.names = [name for name, _ in model.named_parameters()]
        self.shapes = [p.shape for p in model.parameters()]
        self.flat = flatten_parameters(model)
        self.exp_avg, self.exp_avg_sq = torch.zeros_like(self.flat), torch.zeros_like(self.flat)
        self.steps = torch.zeros((), device=self.flat.device)  # Adam's step count, in the graph
        self.taken, self.averaged = 0, 0  # steps and moving-average updates so far
        self.ema_model, self.ema_flat = None, None
        if ema_decay is not None:
            self.ema_model = copy.deepcopy(model)
            self.ema_flat = flatten_parameters(self.ema_model)
        self.sums = torch.zeros(len(loss_fn.tasks) + 1, device=self.flat.device)
        self.compile_step, self.compiled, self.graph = compile_step, None, None

    def views(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        """The named parameters as views of ``flat``."""
        parts = flat.split([math.prod(s) for s in self.shapes])
        return {n: v.view(s) for n, v, s in zip(self.names, parts, self.shapes, strict=True)}

    def loss_and_grad(
        self, flat: torch.Tensor, x: torch.Tensor, y: torch.Tensor, w: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The flat gradient of the total loss, and ``[total, each task's loss]``."""

        def loss_of(weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            outputs = functional_call(self.model, self.views(weights), (x,))
            total, per_task = self.loss_fn(outputs, y, w)
            return total, torch.stack([total, *per_task.values()]).detach()

        grad, (_, losses) = grad_and_value(loss_of, has_aux=True)(flat)
        return grad, losses

    def _step(
        self,
        flat: torch.Tensor,
        moments: tuple[torch.Tensor, torch.Tensor],
        steps: torch.Tensor,
        ema_flat: torch.Tensor | None,
        data: tuple,
        index: torch.Tensor,
        rates: torch.Tensor,
        sums: torch.Tensor,
    ) -> None:
        """One step in place; ``rates``: the learning rate and the moving average's weight."""
        x, y, w = (t.index_select(0, index) for t in data)
        grad, losses = self.loss_and_grad(flat, x, y, w)
        (beta1, beta2), (exp_avg, exp_avg_sq), lr = BETAS, moments, rates[0]
        decay = self.spec.weight_decay
        if decay and self.spec.name == "adamw":
            flat.mul_(1 - lr * decay)
        elif decay:
            grad = grad + decay * flat
        steps.add_(1)
        exp_avg.lerp_(grad, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        denom = (exp_avg_sq.sqrt() / torch.sqrt(1 - beta2**steps)).add_(EPS)
        flat.sub_(exp_avg / denom * (lr / (1 - beta1**steps)))
        if ema_flat is not None:
            ema_flat.lerp_(flat, rates[1])
        sums.add_(losses)

    @property
    def scored(self) -> torch.nn.Module:
        """The weights that are evaluated and kept: the moving average when there is one."""
        return self.model if self.ema_model is None else self.ema_model

    def epoch(self, data: TensorData, order: torch.Tensor) -> list[float]:
        """One pass over the rows of ``data`` that ``order`` lists; the mean total and per-task
        losses."""
        device, sums = self.flat.device, self.sums.zero_()
        tensors, moments = (data.x, data.y, data.w), (self.exp_avg, self.exp_avg_sq)
        for index in batches(order, self.batch_size):
            ema_weight = 1.0 if self.averaged == 0 else 1 - (self.ema_decay or 0.0)
            rates = torch.tensor([self.learning_rate(self.taken), ema_weight], device=device)
            args = (self.flat, moments, self.steps, self.ema_flat, tensors, index, rates, sums)
            if not self.compile_step or len(index) < self.batch_size:
                self._step(*args)
            elif device.type == "cuda" and self.taken >= GRAPH_AFTER:
                self._replay(args)
            else:
                self._compiled(args)(self, *args)
            self.taken += 1
            self.averaged += self.ema_flat is not None
        return (sums / math.ceil(len(order) / self.batch_size)).tolist()

    def _replay(self, args: tuple) -> None:
        """On CUDA, the compiled step captured once as a CUDA graph and replayed: one launch per
        step instead of one per kernel. The batch's indices and rates are copied into the
        graph's own input tensors; every other input is the same tensor at every step."""
        key = (*(t.data_ptr() for t in args[4]), len(args[5]))
        if self.graph is None or self.graph[0] != key:
            inputs = (args[5].clone(), args[6].clone())
            graph = torch.cuda.CUDAGraph()
            compiled = self._compiled(args)
            with torch.cuda.graph(graph):
                compiled(self, *args[:5], *inputs, args[7])
            self.graph = (key, graph, inputs)
        _, graph, (index, rates) = self.graph
        index.copy_(args[5])
        rates.copy_(args[6])
        graph.replay()

    def _compiled(self, args: tuple) -> Callable:
        """The step compiled ahead of its first call (``aot_compile``) for ``args``, or reused
        from an earlier step of this process whose guards accept them (the next seed of a
        model). It is then called without TorchDynamo's frame evaluation and guards: every
        call passes the same tensors, or tensors of the same shapes, and at batch 32 those
        checks took a tenth of the step. The C++ wrapper calls the kernels without Python in
        between."""
        if self.compiled is None:
            call = (self, *args)
            found = next((f for f in _COMPILED if f.guard_check(*call)), None)
            if found is None:
                options = {"cpp_wrapper": True} if self.flat.device.type == "cpu" else {}
                step = torch.compile(
                    FusedStep._step, fullgraph=True, dynamic=False, options=options
                )
                found = step.aot_compile((call, {}))
                _COMPILED.append(found)
            self.compiled = found.fn
        return self.compiled

    def diagnostics(self) -> dict[str, float]:
        """The tasks' weights: the fused step sums the losses (``balancing: equal``)."""
        return {f"weight_{t}": 1.0 for t in self.loss_fn.tasks}

    def close(self) -> None:
        """Give every parameter of the model its own storage again (safetensors refuses
        views)."""
        for p in self.model.parameters():
            p.data = p.data.clone()

    def state_dict(self) -> dict:
        """What a checkpoint needs besides the model's weights."""
        return {
            "exp_avg": self.exp_avg,
            "exp_avg_sq": self.exp_avg_sq,
            "steps": self.steps,
            "taken": self.taken,
            "averaged": self.averaged,
            "ema": self.ema_flat,
        }

    def load_state_dict(self, state: dict) -> None:
        for name in ("exp_avg", "exp_avg_sq", "steps"):
            getattr(self, name).copy_(state[name])
        self.taken, self.averaged = state["taken"], state["averaged"]
        if self.ema_flat is not None:
            self.ema_flat.copy_(state["ema"])
