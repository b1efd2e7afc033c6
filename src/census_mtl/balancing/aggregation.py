"""Gradient aggregation through TorchJD (Quinton and Rey, "Jacobian Descent for Multi-Objective
Optimization", 2024): the tasks' gradients on the shared parameters, one row each of the
Jacobian, are combined by an aggregator instead of summed.

- ``upgrad``: UPGrad (Quinton and Rey 2024), each row projected onto the dual cone of the rows;
- ``mgda``: MGDA (Désidéri 2012; Sener and Koltun, NeurIPS 2018), the minimum-norm point of the
  rows' convex hull;
- ``pcgrad``: PCGrad (Yu et al., NeurIPS 2020), conflicting rows projected on each other's
  normal planes;
- ``cagrad``: CAGrad (Liu et al., NeurIPS 2021), the mean gradient's neighbourhood of radius
  ``c`` searched for the best worst-case improvement;
- ``nash_mtl``: Nash-MTL (Navon et al., ICML 2022), the bargaining solution of the tasks;
- ``aligned_mtl``: Aligned-MTL (Senushkin et al., CVPR 2023), the rows aligned by the condition
  number of their Gramian.

A parameter that one task alone reaches (its tower, its last experts) gets that task's gradient
only, as with ``equal``; the shared ones get the aggregate. Tasks without a labelled row in the
batch are left out of the Jacobian (a zero row would stop MGDA). The term no task owns (AITM's
calibrator) adds its own gradient.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torchjd.aggregation import MGDA, AlignedMTL, CAGrad, NashMTL, PCGrad, UPGrad
from torchjd.autojac import backward as jacobian_backward
from torchjd.autojac import jac_to_grad

from census_mtl.balancing.base import Balancer, shared_parameters
from census_mtl.config.training import Balancing

AGGREGATORS = ("upgrad", "mgda", "pcgrad", "cagrad", "nash_mtl", "aligned_mtl")


def aggregator(spec: Balancing, tasks: int):
    """TorchJD's aggregator for ``spec.method``."""
    return {
        "upgrad": UPGrad,
        "mgda": MGDA,
        "pcgrad": PCGrad,
        "cagrad": lambda: CAGrad(c=spec.cagrad_c),
        "nash_mtl": lambda: NashMTL(n_tasks=tasks),
        "aligned_mtl": AlignedMTL,
    }[spec.method]()


class Aggregation(Balancer):
    def __init__(self, tasks: list[str], spec: Balancing) -> None:
        super().__init__(tasks)
        self.aggregator = aggregator(spec, len(tasks))
        self.split: tuple[list[nn.Parameter], list[nn.Parameter]] | None = None

    def backward(
        self,
        model: nn.Module,
        losses: Sequence[torch.Tensor],
        extra: torch.Tensor | float,
        present: torch.Tensor,
    ) -> None:
        shared, own = self.split or shared_parameters(model, losses)
        if self.split is None and bool(present.all()):  # kept once every task is in a batch
            self.split = (shared, own)
        if isinstance(extra, torch.Tensor):
            extra.backward(retain_graph=True)
        if own:
            torch.autograd.backward(sum(losses), inputs=own, retain_graph=True)
        rows = [losses[i] for i in range(len(self.tasks)) if present[i]]
        weights = present.to(torch.float32)
        if len(rows) < 2:  # nothing to aggregate: the one task's gradient
            torch.autograd.backward(sum(losses), inputs=shared)
        else:
            # one backward pass per task, not vmapped: the category sum's kernel has no vmap rule
            jacobian_backward(rows, inputs=shared, parallel_chunk_size=1)
            chosen = jac_to_grad(shared, self.aggregator)
            if chosen is not None:
                weights[present] = chosen.detach().to(weights)
        self.record(weights)
