"""TabM (Gorishniy, Kotelnikov and Babenko, "TabM: Advancing Tabular Deep Learning with
Parameter-Efficient Ensembling", ICLR 2025): ``k`` members of one network in a BatchEnsemble
(Wen, Tran and Ba, ICLR 2020).

Every linear layer's weight ``W`` is shared; member ``i`` computes ``((x * r_i) W) * s_i + b_i``
with its own scalings ``r_i``, ``s_i`` and bias ``b_i``. As in TabM, the first layer's ``r_i``
start as random signs (the members' only difference at the start), every other scaling at one,
and the members' biases at the same values. The members fold into the batch: activations hold
``k`` blocks of the batch's rows, member-major, so the stacked layers of experts, gates and
towers run them as one batch. In training each member's outputs meet the labels (the loss
averages the members); in evaluation the network gives the members' mean (probability, or value
of a regression task; a funnel model's, the mixture along its funnel: ``census_mtl.models.esmm``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from census_mtl.models.inputs import FeatureLayout, InputSpec, input_width


class EnsembleInputLinear(nn.Module):
    """A layer over an input every stacked MLP shares, per member: ``(B, d) -> (k * B, out)``,
    or ``(k * B, d)`` when the input already holds each member's rows (``folded``: a later PLE
    level's shared experts).

    A compact input's categorical part is an embedding-bag sum whose rows each member scales by
    its ``r_i`` of that category (the one-hot view's ``x * r_i``)."""

    def __init__(
        self, spec: InputSpec, out_features: int, members: int, folded: bool = False
    ) -> None:
        super().__init__()
        self.spec, self.members, self.folded = spec, members, folded
        fan_in = input_width(spec)
        bound = 1.0 / math.sqrt(fan_in)
        self.weight = nn.Parameter(torch.empty(fan_in, out_features).uniform_(-bound, bound))
        self.r = nn.Parameter(torch.randint(0, 2, (members, fan_in)).float() * 2 - 1)
        self.s = nn.Parameter(torch.ones(members, 1, out_features))
        bias = torch.empty(out_features).uniform_(-bound, bound)
        self.bias = nn.Parameter(bias.expand(members, 1, out_features).clone())
        if isinstance(spec, FeatureLayout):
            self.register_buffer("offsets", spec.offsets(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = self.spec.n_numeric if isinstance(self.spec, FeatureLayout) else x.shape[1]
        numbers = x[:, :n].view(self.members, -1, n) if self.folded else x[:, :n].unsqueeze(0)
        out = torch.matmul(numbers * self.r[:, None, :n], self.weight[:n])  # (k, B, out)
        if isinstance(self.spec, FeatureLayout):
            codes = x[:, n:].long() + self.offsets
            scale = self.r[:, n:][:, codes]  # (k, B, fields): each member's r of each category
            sums = F.embedding_bag(
                codes.repeat(self.members, 1),
                self.weight[n:],
                mode="sum",
                per_sample_weights=scale.reshape(-1, codes.shape[1]),
            )
            out = out + sums.view(self.members, x.shape[0], -1)  # features: never folded
        return (out * self.s + self.bias).flatten(0, 1)


class EnsembleLinear(nn.Module):
    """``n`` stacked linear layers, each a BatchEnsemble of ``k`` members:
    ``(n, k * B, in) -> (n, k * B, out)``."""

    def __init__(self, n: int, in_features: int, out_features: int, members: int) -> None:
        super().__init__()
        self.members = members
        bound = 1.0 / math.sqrt(in_features)
        self.weight = nn.Parameter(
            torch.empty(n, in_features, out_features).uniform_(-bound, bound)
        )
        self.r = nn.Parameter(torch.ones(n, members, 1, in_features))
        self.s = nn.Parameter(torch.ones(n, members, 1, out_features))
        bias = torch.empty(n, 1, 1, out_features).uniform_(-bound, bound)
        self.bias = nn.Parameter(bias.expand(n, members, 1, out_features).clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, rows, width = x.shape
        scaled = (x.view(n, self.members, -1, width) * self.r).view(n, rows, width)
        out = torch.bmm(scaled, self.weight).view(n, self.members, -1, self.weight.shape[2])
        return (out * self.s + self.bias).view(n, rows, -1)


def members_mean(outputs: torch.Tensor, members: int, regression: torch.Tensor) -> torch.Tensor:
    """``(tasks, k * B)`` member outputs to ``(tasks, B)``: a binary task's logit of the
    members' mean probability, a regression task's mean value (``regression``: per task)."""
    stacked = outputs.view(len(outputs), members, -1)
    log_k = math.log(members)
    positive = torch.logsumexp(F.logsigmoid(stacked), dim=1) - log_k
    negative = torch.logsumexp(F.logsigmoid(-stacked), dim=1) - log_k
    return torch.where(regression[:, None], stacked.mean(1), positive - negative)
