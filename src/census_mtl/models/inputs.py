"""Model inputs: the compact feature layout and the first layer that reads it.

The model input holds the numeric features followed by one category index per field (0 for a
category unseen in training). Its one-hot view concatenates the numeric features with one
one-hot block per field. ``InputLinear`` computes ``one_hot(x) @ W + b`` either from that dense
view or, for a ``FeatureLayout``, as an embedding-bag sum of one weight row per field: the same
result and the same parameters, without multiplying hundreds of zeros.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from census_mtl.ops.field_sum import one_hot_rows, training_field_sum


@dataclass(frozen=True)
class FeatureLayout:
    """The compact model input: numeric column names, then each categorical field's name and
    cardinality (unknown slot included). One shape everywhere: ``feature_layout.json`` and the
    model artifact both hold ``to_dict()``, ``{numeric: [...], categorical: {name: size}}``.
    """

    numeric: tuple[str, ...]
    categorical: tuple[tuple[str, int], ...]

    @classmethod
    def from_dict(cls, layout: Mapping) -> FeatureLayout:
        """From the ``feature_layout`` dataset: ``{numeric: [...], categorical: {...}}``."""
        return cls(tuple(layout["numeric"]), tuple(dict(layout["categorical"]).items()))

    @classmethod
    def unnamed(cls, n_numeric: int, cardinalities: Sequence[int]) -> FeatureLayout:
        """A layout of ``n_numeric`` numbers and fields of ``cardinalities`` (tests, benchmarks)."""
        fields = tuple((f"cat__{i}", int(c)) for i, c in enumerate(cardinalities))
        return cls(tuple(f"num__{i}" for i in range(n_numeric)), fields)

    def to_dict(self) -> dict:
        return {"numeric": list(self.numeric), "categorical": dict(self.categorical)}

    @property
    def n_numeric(self) -> int:
        return len(self.numeric)

    @property
    def cardinalities(self) -> tuple[int, ...]:
        return tuple(size for _, size in self.categorical)

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
        dense = one_hot_rows(codes, sum(self.cardinalities), x)
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
        return self.add_numeric(x, self.field_sum(x, self.weight))

    def field_sum(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """Embedding-bag sum of the weight rows of ``x``'s categories (compact input only)."""
        codes = x[:, self.spec.n_numeric :].long() + self.offsets
        table = weight[self.spec.n_numeric :]
        if self.training and torch.is_grad_enabled():
            return training_field_sum(codes, table)
        return F.embedding_bag(codes, table, mode="sum")

    def add_numeric(self, x: torch.Tensor, field_sum: torch.Tensor) -> torch.Tensor:
        """The layer's output from its categorical part: add the bias and the numeric part."""
        n = self.spec.n_numeric
        return torch.addmm(field_sum + self.bias, x[:, :n], self.weight[:n])


def input_linears(x: torch.Tensor, layers: Sequence[InputLinear]) -> list[torch.Tensor]:
    """Several first layers over the same compact input, their embedding-bag sums fused.

    One embedding bag over the concatenated weights replaces one per layer, and with it the
    index sort of every backward pass but one. Outputs and gradients are bit for bit those of
    calling each layer: the numeric part, a matmul whose rounding depends on its width, stays
    per layer.
    """
    first = layers[0]
    fusable = all(type(layer) is InputLinear for layer in layers)  # not a BatchEnsemble's
    if len(layers) == 1 or not fusable or not isinstance(first.spec, FeatureLayout):
        return [layer(x) for layer in layers]
    sums = first.field_sum(x, torch.cat([layer.weight for layer in layers], dim=1))
    widths = [layer.weight.shape[1] for layer in layers]
    parts = sums.split(widths, dim=1)
    return [layer.add_numeric(x, part) for layer, part in zip(layers, parts, strict=True)]
