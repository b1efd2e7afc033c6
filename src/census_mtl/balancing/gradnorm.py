"""GradNorm: Chen, Badrinarayanan, Lee and Rabinovich, "GradNorm: Gradient Normalization for
Adaptive Loss Balancing in Deep Multitask Networks", ICML 2018.

Learned task weights ``w_t`` scale the losses. At each step, with ``G_t = ||grad_W w_t L_t||``
on the shared parameters ``W``, ``L~_t = L_t / L_t(0)`` the loss relative to the first step's
and ``r_t = L~_t / mean_i L~_i``, the weights take an Adam step on (their eq. 2)

    L_grad = sum_t | G_t - mean_i(G_i) * r_t^alpha |,

the target held constant; then they are renormalised to sum to the number of tasks. The
network itself trains on ``sum_t w_t L_t``. ``W`` here is every parameter that more than one
task reaches (the paper takes the last shared layer, to save time); a task without a labelled
row in the batch keeps its weight for that step.
"""

from __future__ import annotations

import torch
from torch import nn

from census_mtl.balancing.base import Balancer, shared_parameters


class GradNorm(Balancer):
    def __init__(self, tasks: list[str], alpha: float, learning_rate: float) -> None:
        super().__init__(tasks)
        self.alpha = alpha
        self.task_weight = nn.Parameter(torch.ones(len(tasks)), requires_grad=False)
        self.register_buffer("initial", torch.full((len(tasks),), float("nan")))
        self.optimizer = torch.optim.Adam([self.task_weight], lr=learning_rate)
        self.shared: list[nn.Parameter] | None = None
        self.complete = False

    def weights(self, present: torch.Tensor) -> torch.Tensor:
        return self.task_weight.detach().clone()

    def trainable(self) -> list[nn.Parameter]:
        return []  # its own optimiser updates the task weights

    def objective(
        self, model: nn.Module, losses: torch.Tensor, present: torch.Tensor
    ) -> torch.Tensor:
        if self.shared is None or not self.complete:  # kept once every task is in a batch
            self.shared, self.complete = (
                shared_parameters(model, list(losses))[0],
                bool(present.all()),
            )
        norms = torch.stack([self._norm(loss) for loss in losses])
        weights = self.weights(present)  # this step's: the update below is for the next
        self.record(weights)
        self._update(weights, norms, losses.detach(), present)
        return torch.dot(weights.to(losses), losses)

    def _norm(self, loss: torch.Tensor) -> torch.Tensor:
        """``||grad_W L_t||`` on the shared parameters (``G_t`` is ``w_t`` times it)."""
        grads = torch.autograd.grad(loss, self.shared, retain_graph=True, allow_unused=True)
        return torch.sqrt(sum((g * g).sum() for g in grads if g is not None))

    def _update(
        self, weights: torch.Tensor, norms: torch.Tensor, losses: torch.Tensor, present
    ) -> None:
        """One Adam step of the task weights on ``L_grad``, whose gradient in ``w_t`` is
        ``sign(G_t - target_t) * ||grad_W L_t||``; then the weights sum to the task count."""
        self.initial.copy_(torch.where(torch.isnan(self.initial) & present, losses, self.initial))
        relative = losses / self.initial
        usable = present & ~torch.isnan(relative)
        if usable.sum() < 2:
            return
        rate = relative / relative[usable].mean()
        g = weights * norms
        target = g[usable].mean() * rate**self.alpha
        self.task_weight.grad = torch.where(usable, torch.sign(g - target) * norms, 0.0)
        self.optimizer.step()
        with torch.no_grad():
            self.task_weight.clamp_(min=1e-3)
            self.task_weight.mul_(len(self.tasks) / self.task_weight.sum())

    def state_dict(self, *args, **kwargs) -> dict:
        return super().state_dict(*args, **kwargs) | {"optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict, strict: bool = True):
        state = dict(state)
        self.optimizer.load_state_dict(state.pop("optimizer"))
        return super().load_state_dict(state, strict)
