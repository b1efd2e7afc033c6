"""Uncertainty weighting: Kendall, Gal and Cipolla, "Multi-Task Learning Using Uncertainty to
Weigh Losses for Scene Geometry and Semantics", CVPR 2018.

Each task ``t`` has a learned log-variance ``s_t = log sigma_t^2`` and the objective is (their
eq. 7, in the form LibMTL implements for every task type)

    sum_t  L_t / (2 exp(s_t)) + s_t / 2,

minimised over the network and the ``s_t`` together (the ``s_t`` join the model's optimiser).
A task without a labelled row in the batch adds nothing, its ``s_t`` term included.
"""

from __future__ import annotations

import torch
from torch import nn

from census_mtl.balancing.base import Balancer


class Uncertainty(Balancer):
    def __init__(self, tasks: list[str]) -> None:
        super().__init__(tasks)
        self.log_variance = nn.Parameter(torch.zeros(len(tasks)))

    def weights(self, present: torch.Tensor) -> torch.Tensor:
        return 0.5 * torch.exp(-self.log_variance)

    def objective(
        self, model: nn.Module, losses: torch.Tensor, present: torch.Tensor
    ) -> torch.Tensor:
        weights = self.weights(present)
        self.record(weights)
        return torch.where(present, weights * losses + 0.5 * self.log_variance, 0.0).sum()
