"""Numeric feature embeddings (Gorishniy, Rubachev and Babenko, "On Embeddings for Numerical
Features in Tabular Deep Learning", NeurIPS 2022): the network's first layer reads each number's
embedding in place of the number; the categorical fields are untouched.

- Periodic (PLR): ``x_j`` becomes ``ReLU(W_j [sin(2 pi c_j x_j), cos(2 pi c_j x_j)] + b_j)``
  with trainable frequencies ``c_j`` (drawn from N(0, sigma)).
- Piecewise-linear, version B of TabM (Gorishniy, Kotelnikov and Babenko, ICLR 2025): over the
  bins ``b_0 < ... < b_T`` of ``x_j``, its encoding is ``e_t = clamp((x_j - b_(t-1)) /
  (b_t - b_(t-1)), 0, 1)`` (the first bin open to the left, the last to the right), and its
  embedding ``w_j x_j + v_j + E_j e`` with ``E_j`` zero at start, so training begins from a
  linear embedding and learns the piecewise part.
"""

from __future__ import annotations

import math

import torch
from rtdl_num_embeddings import compute_bins
from torch import nn

# Decision trees behind tree-based bins (rtdl_num_embeddings' example settings).
TREE = {"min_samples_leaf": 64, "min_impurity_decrease": 1e-4, "random_state": 0}


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


class PiecewiseLinearNumbers(nn.Module):
    """``(B, n)`` numbers to ``(B, n * dim)`` piecewise-linear embeddings (version B).

    The bins are buffers of a fixed shape, ``n_bins`` per number (a number with fewer bins
    leaves the middle ones at zero, as ``rtdl_num_embeddings`` lays them out), set from the
    training rows by ``fit_bins`` and saved with the weights: a model read back from its file
    rebuilds without its data, which ``rtdl_num_embeddings``' module, taking the bins when it
    is built, cannot. Until then the encoding is zero and the embedding linear.
    """

    def __init__(
        self, n: int, n_bins: int, dim: int, activation: bool, tree_task: str | None = None
    ) -> None:
        super().__init__()
        self.n, self.n_bins, self.activation = n, n_bins, activation
        self.tree_task = tree_task  # whose labels the bins split; None: quantile bins
        self.register_buffer("scale", torch.zeros(n, n_bins))
        self.register_buffer("shift", torch.zeros(n, n_bins))
        self.register_buffer("single", torch.zeros(n, 1, dtype=torch.bool))
        bound = dim**-0.5
        self.linear_weight = nn.Parameter(torch.empty(n, dim).uniform_(-bound, bound))
        self.linear_bias = nn.Parameter(torch.empty(n, dim).uniform_(-bound, bound))
        self.weight = nn.Parameter(torch.zeros(n, n_bins, dim))

    @torch.no_grad()
    def set_bins(self, bins: list[torch.Tensor]) -> None:
        """Each number's bin edges (ascending, at most ``n_bins + 1``) into the buffers."""
        self.scale.zero_()
        self.shift.zero_()
        for j, edges in enumerate(bins):
            width = edges.diff().to(self.scale)
            scale, shift = 1.0 / width, -edges[:-1].to(self.scale) / width
            count = len(width)
            self.scale[j, : count - 1], self.shift[j, : count - 1] = scale[:-1], shift[:-1]
            self.scale[j, -1], self.shift[j, -1] = scale[-1], shift[-1]
            self.single[j] = count == 1

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, n)`` to ``(B, n, n_bins)``: each number's piecewise-linear encoding."""
        z = torch.addcmul(self.shift, self.scale, x.unsqueeze(-1))
        last = torch.where(self.single, z[..., -1:], z[..., -1:].clamp_min(0.0))
        return torch.cat([z[..., :1].clamp_max(1.0), z[..., 1:-1].clamp(0.0, 1.0), last], -1)

    def fit_bins(self, numbers: torch.Tensor, labels: torch.Tensor, tasks, types) -> None:
        """Bins from the training rows' ``numbers`` (and ``labels``, for tree bins)."""
        if self.tree_task is None:
            self.set_bins(numeric_bins(numbers, self.n_bins, None))
            return
        i = list(tasks).index(self.tree_task)
        regression = types[i] == "regression"
        self.set_bins(numeric_bins(numbers, self.n_bins, labels[:, i], regression))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        piecewise = torch.einsum("bnk,nkd->bnd", self.encode(x), self.weight)
        if self.activation:
            piecewise = torch.relu(piecewise)
        linear = torch.addcmul(self.linear_bias, self.linear_weight, x.unsqueeze(-1))
        return (linear + piecewise).flatten(1)


def numeric_bins(
    numbers: torch.Tensor, n_bins: int, labels: torch.Tensor | None, regression: bool = False
) -> list[torch.Tensor]:
    """Each number's bin edges over the training rows: quantiles, or (``labels`` given) the
    splits of a decision tree on those labels (rows without a label left out). A number with
    one value gets one bin around it."""
    if labels is not None:
        present = ~labels.isnan()
        numbers, labels = numbers[present], labels[present]
    varying = [j for j in range(numbers.shape[1]) if not (numbers[:, j] == numbers[0, j]).all()]
    n_bins = min(n_bins, len(numbers) - 1)
    tree = {} if labels is None else {"tree_kwargs": TREE, "y": labels, "regression": regression}
    found = compute_bins(numbers[:, varying], n_bins, **tree) if varying else []
    bins = [numbers[0, j] + torch.tensor([-0.5, 0.5]) for j in range(numbers.shape[1])]
    for j, edges in zip(varying, found, strict=True):
        bins[j] = edges
    return bins


class EmbeddedNumbers(nn.Module):
    """A network whose numeric inputs pass through their embedding first."""

    def __init__(self, embedding: PeriodicNumbers | PiecewiseLinearNumbers, network: nn.Module):
        super().__init__()
        self.embedding, self.network = embedding, network
        self.tasks = network.tasks

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        numbers = self.embedding(x[:, : self.embedding.n])
        return self.network(torch.cat([numbers, x[:, self.embedding.n :]], dim=1))
