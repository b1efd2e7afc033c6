"""Shared field embeddings: the lookup table of the conversion models (ESMM, AITM)."""

from __future__ import annotations

import torch
from torch import nn

from census_mtl.models.inputs import FeatureLayout


class FieldEmbedding(nn.Module):
    """Each categorical field's value as a learnt ``dim``-vector, concatenated after the numbers
    (as they are, or their periodic embeddings): ``(B, numbers + fields * dim)``."""

    def __init__(self, layout: FeatureLayout, dim: int) -> None:
        super().__init__()
        self.n_numeric = layout.n_numeric
        self.table = nn.Embedding(sum(layout.cardinalities), dim)
        nn.init.normal_(self.table.weight, std=dim**-0.5)
        self.register_buffer("offsets", layout.offsets(), persistent=False)
        self.out_width = layout.n_numeric + len(layout.cardinalities) * dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        codes = x[:, self.n_numeric :].long() + self.offsets
        return torch.cat([x[:, : self.n_numeric], self.table(codes).flatten(1)], dim=1)
