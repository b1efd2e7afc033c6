"""Numeric feature embeddings: periodic encodings (PLR, Gorishniy, Rubachev and Babenko,
"On Embeddings for Numerical Features in Tabular Deep Learning", NeurIPS 2022).

Each standardised number ``x_j`` becomes ``ReLU(W_j [sin(2 pi c_j x_j), cos(2 pi c_j x_j)] + b_j)``
with trainable frequencies ``c_j`` (drawn from N(0, sigma)); the network's first layer then reads
these vectors in place of the raw numbers. The categorical fields are untouched.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class PeriodicNumbers(nn.Module):
    """``(B, n)`` numbers to ``(B, n * dim)`` periodic embeddings, one small network per number."""

    def __init__(self, n: int, frequencies: int, dim: int, sigma: float) -> None:
        super().__init__()
        self.n = n
        self.frequencies = nn.Parameter(torch.randn(n, frequencies) * sigma)
        bound = 1.0 / math.sqrt(2 * frequencies)
        self.weight = nn.Parameter(torch.empty(n, 2 * frequencies, dim).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(n, dim).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        angles = 2 * math.pi * self.frequencies * x.unsqueeze(-1)
        periodic = torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)
        embedded = torch.einsum("bnk,nkd->bnd", periodic, self.weight) + self.bias
        return torch.relu(embedded).flatten(1)


class EmbeddedNumbers(nn.Module):
    """A network whose numeric inputs pass through ``PeriodicNumbers`` first."""

    def __init__(self, embedding: PeriodicNumbers, network: nn.Module) -> None:
        super().__init__()
        self.embedding, self.network = embedding, network
        self.tasks = network.tasks

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        numbers = self.embedding(x[:, : self.embedding.n])
        return self.network(torch.cat([numbers, x[:, self.embedding.n :]], dim=1))
