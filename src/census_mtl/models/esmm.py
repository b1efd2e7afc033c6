"""ESMM: Entire Space Multi-task Model (Ma et al., "Entire Space Multi-Task Model: An Effective
Approach for Estimating Post-Click Conversion Rate", SIGIR 2018).

Section 2.3: a CTR and a CVR tower share the embedding lookup table; the post-view
click-through-and-conversion probability is their product (Eq. 1),
``pCTCVR = p(y=1, z=1 | x) = pCTR * pCVR = p(y=1 | x) * p(z=1 | y=1, x)``, and both losses are
taken over the entire space of impressions (Eq. 3),
``L = Σ_i l(y_i, pCTR_i) + Σ_i l(y_i & z_i, pCTR_i * pCVR_i)``,
so the CVR tower never trains on the clicked rows alone (sample selection bias) and learns from
every impression (data sparsity). Here a funnel of any length: every step has a tower, and a
step's loss is on the product of its funnel's probabilities (``training.loss``); its output is
the in-space probability (pCVR), ``census_mtl.models.funnel`` gives the entire-space one.
A TabM ensemble's members each train on their own products; it predicts the mixture of its
members: each step's mean entire-space probability, and in its space that over its previous
step's.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from census_mtl.models.embedding import FieldEmbedding
from census_mtl.models.funnel import in_space_logits, product_logits
from census_mtl.models.inputs import FeatureLayout
from census_mtl.models.layers import StackedMLP
from census_mtl.models.networks import MultiTaskModel
from census_mtl.models.tabm import members_mean


class ESMM(MultiTaskModel):
    """Shared field embeddings, one independent MLP tower per task (step)."""

    entire_space_loss = True

    def __init__(
        self,
        layout: FeatureLayout,
        tasks: Sequence[str],
        embedding_dim: int,
        hidden_units: list[int],
        tower_hidden_units: list[int],
        **mlp,
    ) -> None:
        super().__init__(tasks, hidden_units[-1], tower_hidden_units, **mlp)
        self.embedding = FieldEmbedding(layout, embedding_dim)
        width = self.embedding.out_width
        self.bottoms = StackedMLP(len(tasks), width, hidden_units, shared_input=True, **mlp)

    def represent(self, x: torch.Tensor) -> torch.Tensor:
        return self.bottoms(self.embedding(x))

    def average_members(self, logits: torch.Tensor) -> dict[str, torch.Tensor]:
        """The members' mixture: per step, the mean over members of the product along its
        funnel, then back in its space (the mixture's probability of the step given the one
        before)."""
        funnel = getattr(self, "spaces", {})
        entire = product_logits(dict(zip(self.tasks, logits, strict=True)), funnel)
        stacked = torch.stack([entire[task] for task in self.tasks])
        mean = members_mean(stacked, self.members, self.regression)
        return in_space_logits(dict(zip(self.tasks, mean, strict=True)), funnel)
