"""Stacked layers: ``n`` independent MLPs computed with one batched matmul per layer.

Stacked activations are laid out member-major, ``(n, batch, width)``, so every layer after the
first is a single ``torch.baddbmm``. Each member has its own weights, initialised at random like
``nn.Linear`` (uniform in ``±1/sqrt(fan_in)``), so no two units start identical.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import nn

from census_mtl.models.inputs import InputLinear, InputSpec, input_linears
from census_mtl.models.tabm import EnsembleInputLinear, EnsembleLinear
from census_mtl.ops.dropout import Dropout

ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu, "silu": F.silu, "tanh": torch.tanh}
NORMS = (None, "batch", "layer")


class StackedLinear(nn.Module):
    """``n`` linear layers: ``(n, B, in) -> (n, B, out)`` in one ``baddbmm``."""

    def __init__(self, n: int, in_features: int, out_features: int) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(in_features)
        self.weight = nn.Parameter(
            torch.empty(n, in_features, out_features).uniform_(-bound, bound)
        )
        self.bias = nn.Parameter(torch.empty(n, 1, out_features).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias, x, self.weight)


def _linear(n: int, in_features: int, out_features: int, members: int) -> nn.Module:
    """A stacked linear layer, a BatchEnsemble of ``members`` when more than one (TabM)."""
    if members > 1:
        return EnsembleLinear(n, in_features, out_features, members)
    return StackedLinear(n, in_features, out_features)


class StackedNorm(nn.Module):
    """Batch or layer normalisation with separate statistics and affine weights per member."""

    def __init__(self, kind: str, n: int, width: int) -> None:
        super().__init__()
        self.kind = kind
        if kind == "batch":
            self.norm = nn.BatchNorm1d(n * width)
        else:
            self.weight = nn.Parameter(torch.ones(n, 1, width))
            self.bias = nn.Parameter(torch.zeros(n, 1, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, batch, width = x.shape
        if self.kind == "batch":
            flat = self.norm(x.transpose(0, 1).reshape(batch, n * width))
            return flat.reshape(batch, n, width).transpose(0, 1)
        return F.layer_norm(x, (width,)) * self.weight + self.bias


class StackedMLP(nn.Module):
    """``n`` MLPs of the same shape, run together.

    Input ``(B, d)`` is shared by every member (``shared_input``, the first layer then reads a
    dense or compact input through ``InputLinear``); otherwise each member has its own input,
    ``(n, B, d)``. Output ``(n, B, width)``: the last hidden layer, or ``output_units`` raw
    outputs (logits) when given. With ``members`` above one, every layer is a BatchEnsemble
    (``census_mtl.models.tabm``) and ``B`` counts each member's copy of the rows, which a shared
    input already holds when ``folded_input``.
    """

    def __init__(
        self,
        n: int,
        in_spec: InputSpec,
        hidden_units: list[int],
        *,
        shared_input: bool,
        output_units: int | None = None,
        dropout: float = 0.0,
        norm: str | None = None,
        activation: str = "relu",
        members: int = 1,
        folded_input: bool = False,
    ) -> None:
        super().__init__()
        widths = [*hidden_units, *([output_units] if output_units else [])]
        if not widths:
            raise ValueError("an MLP needs hidden units or output units")
        self.n, self.shared_input = n, shared_input
        if shared_input:
            self.first: nn.Module = (
                EnsembleInputLinear(in_spec, n * widths[0], members, folded_input)
                if members > 1
                else InputLinear(in_spec, n * widths[0])
            )
        elif isinstance(in_spec, int):
            self.first = _linear(n, in_spec, widths[0], members)
        else:
            raise ValueError("a compact (FeatureLayout) input must be shared by all members")
        self.rest = nn.ModuleList(_linear(n, a, b, members) for a, b in pairwise(widths))
        self.norms = nn.ModuleList(
            StackedNorm(norm, n, w) if norm else nn.Identity() for w in hidden_units
        )
        self.activation = ACTIVATIONS[activation]
        self.dropout = Dropout(dropout) if dropout else nn.Identity()
        self.out_width = widths[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.after_first(self.first(x))

    def after_first(self, h: torch.Tensor) -> torch.Tensor:
        """The MLP from its first layer's output on."""
        if self.shared_input:
            h = h.view(h.shape[0], self.n, -1).transpose(0, 1)
        for i, norm in enumerate(self.norms):
            h = self.dropout(self.activation(norm(h)))
            if i < len(self.rest):
                h = self.rest[i](h)
        return h


def run_on_shared_input(
    x: torch.Tensor, mlps: Sequence[StackedMLP | None]
) -> list[torch.Tensor | None]:
    """Several shared-input MLPs over the same ``x``, their first layers fused into one.

    Returns each MLP's output, ``None`` for a ``None`` entry.
    """
    present = [mlp for mlp in mlps if mlp is not None]
    outs = iter(
        mlp.after_first(h)
        for mlp, h in zip(present, input_linears(x, [mlp.first for mlp in present]), strict=True)
    )
    return [None if mlp is None else next(outs) for mlp in mlps]
