"""AITM: Adaptive Information Transfer Multi-task framework (Xi et al., "Modeling the Sequential
Dependence among Audience Multi-step Conversions with Multi-task Learning in Targeted Display
Advertising", KDD 2021).

Section 3: a tower per conversion step over shared embeddings gives ``q_t``; the Adaptive
Information Transfer module mixes it with what the previous step transfers,
``p_(t-1) = g_(t-1)(z_(t-1))``, by self-attention over ``u ∈ {p_(t-1), q_t}``:
``ŵ_u = <h1(u), h2(u)> / sqrt(k)``, ``w_u = exp(ŵ_u) / Σ_u' exp(ŵ_u')``,
``z_t = Σ_u w_u h3(u)`` (``z_1 = q_1``; ``g``, ``h1``, ``h2``, ``h3`` are single layers), and
``ŷ_t = sigmoid(MLP_t(z_t))`` is the probability of reaching step ``t`` over the entire space.
The loss is the cross-entropy of every step over the entire space plus the Behavioral
Expectation Calibrator, ``alpha * Σ_(t≥2) max(ŷ_t - ŷ_(t-1), 0)`` averaged over rows
(``calibrator_weight``; ``training.loss``). Steps follow the declared task order; information
flows forward only, so no later step reaches an earlier step's output.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from census_mtl.models.esmm import ESMM
from census_mtl.models.inputs import FeatureLayout
from census_mtl.models.networks import MultiTaskModel


class InformationTransfer(nn.Module):
    """One AIT module: ``z_t`` from the previous step's ``z_(t-1)`` and this step's ``q_t``."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.transfer = nn.Linear(width, width)  # g_(t-1)
        self.project = nn.Linear(width, 3 * width)  # h1, h2 and h3 at once
        self.scale = 1.0 / math.sqrt(width)

    def forward(self, previous: torch.Tensor, own: torch.Tensor) -> torch.Tensor:
        units = torch.stack([torch.relu(self.transfer(previous)), own], dim=1)  # (B, 2, k)
        h1, h2, h3 = self.project(units).chunk(3, dim=-1)
        weights = torch.softmax((h1 * h2).sum(-1) * self.scale, dim=1)  # (B, 2)
        return (weights.unsqueeze(-1) * h3).sum(1)


class AITM(ESMM):
    """ESMM's shared field embeddings and towers, an AIT module between consecutive steps."""

    output_space = "entire"
    # Its outputs are over the entire space already: a TabM ensemble's mean is the mixture's.
    average_members = MultiTaskModel.average_members

    def __init__(
        self,
        layout: FeatureLayout,
        tasks: Sequence[str],
        embedding_dim: int,
        hidden_units: list[int],
        tower_hidden_units: list[int],
        calibrator_weight: float,
        **mlp,
    ) -> None:
        super().__init__(layout, tasks, embedding_dim, hidden_units, tower_hidden_units, **mlp)
        self.transfers = nn.ModuleList(
            InformationTransfer(hidden_units[-1]) for _ in range(len(tasks) - 1)
        )
        self.calibrator_weight = calibrator_weight

    def represent(self, x: torch.Tensor) -> torch.Tensor:
        own = self.bottoms(self.embedding(x))  # q_t, (tasks, B, k)
        z = [own[0]]
        for t, transfer in enumerate(self.transfers, start=1):
            z.append(transfer(z[-1], own[t]))
        return torch.stack(z)
