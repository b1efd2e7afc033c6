"""Model inputs: the compact feature layout and the first layer that reads it.

The model input holds the numeric features followed by one category index per field (0 for a
category unseen in training). Its one-hot view concatenates the numeric features with one
one-hot block per field. ``InputLinear`` computes ``one_hot(x) @ W + b`` either from that dense
view or, for a ``FeatureLayout``, as an embedding-bag sum of one weight row per field: the same
result and the same parameters, without multiplying hundreds of zeros.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class FeatureLayout:
    """Numeric feature count and each categorical field's cardinality (unknown slot included)."""

    n_numeric: int
    cardinalities: tuple[int, ...]

    @classmethod
    def from_dict(cls, layout: Mapping) -> FeatureLayout:
        """Build from the ``feature_layout`` dataset: ``{numeric: [...], categorical: {...}}``."""
        return cls(len(layout["numeric"]), tuple(layout["categorical"].values()))

    @property
    def n_columns(self) -> int:
        """Width of the compact model input."""
        return self.n_numeric + len(self.cardinalities)

    @property
    def one_hot_dim(self) -> int:
        """Width of the one-hot view."""
        return self.n_numeric + sum(self.cardinalities)

    def offsets(self) -> torch.Tensor:
        """Row of each field's first category in the categorical block of the weight."""
        return torch.tensor((0, *self.cardinalities[:-1]), dtype=torch.long).cumsum(0)

    def to_one_hot(self, x: torch.Tensor) -> torch.Tensor:
        """The one-hot view of a compact input batch."""
        codes = x[:, self.n_numeric :].long() + self.offsets().to(x.device)
        dense = x.new_zeros(x.shape[0], sum(self.cardinalities))
        dense.scatter_(1, codes, 1.0)
        return torch.cat([x[:, : self.n_numeric], dense], dim=1)


InputSpec = int | FeatureLayout


def input_width(spec: InputSpec) -> int:
    """Number of weight rows a first layer needs for ``spec``."""
    return spec.one_hot_dim if isinstance(spec, FeatureLayout) else spec


class InputLinear(nn.Module):
    """``x @ W + b`` for a dense input, or its embedding-bag equivalent for a compact one."""

    def __init__(self, spec: InputSpec, out_features: int) -> None:
        super().__init__()
        self.spec = spec
        fan_in = input_width(spec)
        bound = 1.0 / math.sqrt(fan_in)
        self.weight = nn.Parameter(torch.empty(fan_in, out_features).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(out_features).uniform_(-bound, bound))
        if isinstance(spec, FeatureLayout):
            self.register_buffer("offsets", spec.offsets(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(self.spec, FeatureLayout):
            return torch.addmm(self.bias, x, self.weight)
        n = self.spec.n_numeric
        codes = x[:, n:].long() + self.offsets
        out = F.embedding_bag(codes, self.weight[n:], mode="sum")
        return torch.addmm(out + self.bias, x[:, :n], self.weight[:n])
