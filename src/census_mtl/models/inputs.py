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


def one_hot_rows(codes: torch.Tensor, width: int, like: torch.Tensor) -> torch.Tensor:
    """A ``len(codes) x width`` matrix of ``like``'s dtype and device, with a 1 at every code
    of each row (codes of different fields never collide)."""
    one_hot = torch.zeros(codes.shape[0], width, device=like.device, dtype=like.dtype)
    return one_hot.scatter_(1, codes, 1.0)


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
        if torch.compiler.is_compiling():
            return compiled_field_sum(codes, table)
        return F.embedding_bag(codes, table, mode="sum")

    def add_numeric(self, x: torch.Tensor, field_sum: torch.Tensor) -> torch.Tensor:
        """The layer's output from its categorical part: add the bias and the numeric part."""
        n = self.spec.n_numeric
        return torch.addmm(field_sum + self.bias, x[:, :n], self.weight[:n])


ONE_HOT_MIN_ROWS, ONE_HOT_MAX_WIDTH = 128, 512


def compiled_field_sum(codes: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """``embedding_bag`` for a compiled graph, by cost. For a batch of more than 128 rows and a
    table at most 512 wide, the gradient is the product of the batch's one-hot matrix with the
    output's; on the CPU the forward pass stays aten's ``embedding_bag``, which inductor calls
    as it is (``_BagSum``), on CUDA it is the one-hot product too. Else aten's ``embedding_bag``.

    Measured on 2 cores, compiled steps (``benchmarks/profile_step.py``): at batch 1024 with
    PaddleRec's PLE (a 577 x 138 table) the one-hot product makes a step 5.3-5.6 ms against
    8.1 with ``embedding_bag``, whose backward sorts the indices, and ``_BagSum`` 4.1 against
    5.4-5.6 (MMoE 4.6 against 6.9, Shared-Bottom 4.5 against 5.5); for a 626 x 782 table the
    product costs more (12.6 ms against 6.5, forward and backward). At batch 32
    ``embedding_bag`` is fastest: 1.16 ms a step against 1.33 (one-hot), 1.02-1.08 against
    1.07-1.14 (``_BagSum``), 1.60 for a gather and sum, whose backward inductor makes a
    scatter of atomic adds (the default PLE: 5.07 ms against 10.6 with the gather).
    ``benchmarks/field_sum.py`` times the sum alone, by these ways and others.
    """
    if codes.shape[0] <= ONE_HOT_MIN_ROWS or table.shape[1] > ONE_HOT_MAX_WIDTH:
        return F.embedding_bag(codes, table, mode="sum")
    if codes.device.type == "cpu":
        return _BagSum.apply(codes, table)
    return one_hot_rows(codes, table.shape[0], table) @ table


@torch.library.custom_op("census_mtl::bag_sum", mutates_args=())
def bag_sum(codes: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """aten's ``embedding_bag`` sum, which inductor calls as it is instead of lowering it."""
    return F.embedding_bag(codes, table, mode="sum")


@bag_sum.register_fake
def _(codes: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    return table.new_empty(codes.shape[0], table.shape[1])


class _BagSum(torch.autograd.Function):
    """``bag_sum`` forward; backward, the batch's one-hot matrix times the output's gradient
    (a dense product beats the sort of ``embedding_bag``'s backward at large batches). An
    ``autograd.Function`` with ``setup_context``, so that ``torch.func.grad`` takes it."""

    @staticmethod
    def forward(codes: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
        return bag_sum(codes, table)

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        codes, table = inputs
        ctx.save_for_backward(codes)
        ctx.rows = table.shape[0]

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[None, torch.Tensor]:
        (codes,) = ctx.saved_tensors
        return None, one_hot_rows(codes, ctx.rows, grad).t() @ grad


def input_linears(x: torch.Tensor, layers: Sequence[InputLinear]) -> list[torch.Tensor]:
    """Several first layers over the same compact input, their embedding-bag sums fused.

    One embedding bag over the concatenated weights replaces one per layer, and with it the
    index sort of every backward pass but one. Outputs and gradients are bit for bit those of
    calling each layer: the numeric part, a matmul whose rounding depends on its width, stays
    per layer.
    """
    first = layers[0]
    if len(layers) == 1 or not isinstance(first.spec, FeatureLayout):
        return [layer(x) for layer in layers]
    sums = first.field_sum(x, torch.cat([layer.weight for layer in layers], dim=1))
    widths = [layer.weight.shape[1] for layer in layers]
    parts = sums.split(widths, dim=1)
    return [layer.add_numeric(x, part) for layer, part in zip(layers, parts, strict=True)]
