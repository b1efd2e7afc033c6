"""Dynamic weight average: Liu, Johns and Davison, "End-to-End Multi-Task Learning with
Attention", CVPR 2019.

The weights of epoch ``e`` follow how fast each task's loss fell over the two epochs before
(their eq. 7):

    w_t(e) = T exp(r_t(e-1) / tau) / sum_i exp(r_i(e-1) / tau),   r_t(e-1) = L_t(e-1) / L_t(e-2),

``T`` tasks, temperature ``tau``, ``L_t`` the epoch's mean training loss of task ``t``; the
first two epochs weigh every task 1.
"""

from __future__ import annotations

import torch

from census_mtl.balancing.base import Balancer


class DWA(Balancer):
    def __init__(self, tasks: list[str], temperature: float) -> None:
        super().__init__(tasks)
        self.temperature = temperature
        self.register_buffer("history", torch.full((2, len(tasks)), float("nan")))

    def weights(self, present: torch.Tensor) -> torch.Tensor:
        if torch.isnan(self.history).any():
            return torch.ones(len(self.tasks))
        rate = self.history[1] / self.history[0]
        return len(self.tasks) * torch.softmax(rate / self.temperature, 0)

    def end_epoch(self, task_losses: list[float]) -> dict[str, float]:
        self.history.copy_(torch.stack([self.history[1], torch.tensor(task_losses)]))
        return super().end_epoch(task_losses)
