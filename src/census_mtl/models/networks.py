"""The multi-task networks. Each returns ``{task: logits of shape (batch,)}``.

- ``PLE`` (Tang et al., RecSys 2020): extraction levels of task-specific and shared experts with
  gates; CGC is one level, and MMoE is one level with shared experts only.
- ``ShareBottom``: one bottom MLP feeding every task's tower.
- ``SingleTask``: one independent network per task, sharing no parameter.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from census_mtl.models.inputs import InputSpec
from census_mtl.models.layers import StackedMLP, run_on_shared_input
from census_mtl.models.tabm import members_mean


class MultiTaskModel(nn.Module):
    """A representation per task, ``(tasks, B, width)``, then one tower per task to a logit;
    with BatchEnsemble ``members`` (TabM), each member's logits in training, their mean else."""

    def __init__(self, tasks: Sequence[str], width: int, tower_hidden_units: list[int], **mlp):
        super().__init__()
        self.tasks, self.members = list(tasks), mlp.get("members", 1)
        self.towers = StackedMLP(
            len(self.tasks), width, tower_hidden_units, shared_input=False, output_units=1, **mlp
        )
        # which tasks are regression tasks (``build_model`` sets it): how members are averaged
        self.register_buffer("regression", torch.zeros(len(self.tasks), dtype=torch.bool), False)

    def represent(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def scale_outputs(self, shift: torch.Tensor, scale: torch.Tensor) -> None:
        """Outputs become ``shift + scale * tower`` per task (a regression task's label mean and
        std; 0 and 1 for a binary task's logit): the towers work on a standardised scale."""
        self.register_buffer("output_shift", shift.float().clone())
        self.register_buffer("output_scale", scale.float().clone())

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        logits = self.towers(self.represent(x))[:, :, 0]
        if hasattr(self, "output_scale"):
            logits = torch.addcmul(self.output_shift[:, None], logits, self.output_scale[:, None])
        if self.members > 1 and not self.training:  # TabM: the members' mean
            return self.average_members(logits)
        return {task: logits[i] for i, task in enumerate(self.tasks)}

    def average_members(self, logits: torch.Tensor) -> dict[str, torch.Tensor]:
        """``(tasks, k * B)`` member outputs to each task's members' mean, ``(B,)``."""
        mean = members_mean(logits, self.members, self.regression)
        return {task: mean[i] for i, task in enumerate(self.tasks)}


class ExtractionLevel(nn.Module):
    """One PLE level: task experts, shared experts, and a softmax gate per task (plus one shared).

    Task ``k``'s gate mixes task ``k``'s experts and the shared experts; the shared gate, present
    on every level but the last, mixes all experts. All experts of a kind run as one stacked
    MLP, all gates as another; a gate's forbidden experts get weight exactly 0.
    """

    def __init__(
        self,
        in_spec: InputSpec,
        n_tasks: int,
        experts_per_task: int,
        shared_experts: int,
        expert_hidden_units: list[int],
        shared_expert_hidden_units: list[int],
        gate_hidden_units: list[int],
        shared_gate: bool,
        first: bool,
        **mlp,
    ) -> None:
        super().__init__()
        self.n_tasks, self.experts_per_task, self.first = n_tasks, experts_per_task, first
        self.task_experts = (
            StackedMLP(
                n_tasks * experts_per_task, in_spec, expert_hidden_units, shared_input=first, **mlp
            )
            if experts_per_task
            else None
        )
        self.shared_experts = (
            StackedMLP(
                shared_experts,
                in_spec,
                shared_expert_hidden_units,
                shared_input=True,
                folded_input=not first,
                **mlp,
            )
            if shared_experts
            else None
        )
        n_experts = n_tasks * experts_per_task + shared_experts
        n_gates = n_tasks + shared_gate
        self.gates = StackedMLP(
            n_gates, in_spec, gate_hidden_units, shared_input=first, output_units=n_experts, **mlp
        )
        allowed = torch.zeros(n_gates, n_experts, dtype=torch.bool)
        for task in range(n_tasks):
            allowed[task, task * experts_per_task : (task + 1) * experts_per_task] = True
        allowed[:, n_tasks * experts_per_task :] = True
        allowed[n_tasks:] = True  # the shared gate sees every expert
        self.register_buffer("allowed", allowed)
        self.gate_probe = nn.Identity()  # the gates' weights pass here: a hook can read them
        self.out_width = (self.task_experts or self.shared_experts).out_width

    def forward(
        self, task_in: torch.Tensor, shared_in: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Inputs: ``(B, d)`` features on the first level, else ``(tasks, B, d)`` and ``(B, d)``."""
        if self.first:  # every branch reads the features: one fused first layer
            task_out, shared_out, gate_logits = run_on_shared_input(
                task_in, [self.task_experts, self.shared_experts, self.gates]
            )
        else:
            task_out = (
                self.task_experts(task_in.repeat_interleave(self.experts_per_task, 0))
                if self.task_experts is not None
                else None
            )
            shared_out = self.shared_experts(shared_in) if self.shared_experts is not None else None
            gate_in = task_in
            if len(self.allowed) > self.n_tasks:
                gate_in = torch.cat([task_in, shared_in.unsqueeze(0)])
            gate_logits = self.gates(gate_in)
        experts = torch.cat([out for out in (task_out, shared_out) if out is not None])
        weights = self.gate_probe(self.gate_weights(gate_logits))
        mixed = torch.einsum("gbn,nbh->gbh", weights, experts)
        return mixed[: self.n_tasks], (mixed[self.n_tasks] if len(mixed) > self.n_tasks else None)

    def gate_weights(self, logits: torch.Tensor) -> torch.Tensor:
        """Softmax weights ``(gates, B, experts)``, exactly 0 on a gate's forbidden experts."""
        logits = logits.masked_fill(~self.allowed.unsqueeze(1), float("-inf"))
        return torch.softmax(logits, dim=-1)


class PLE(MultiTaskModel):
    """Progressive Layered Extraction: a stack of ``ExtractionLevel`` and per-task towers."""

    def __init__(
        self,
        in_spec: InputSpec,
        tasks: Sequence[str],
        levels: list[dict],
        gate_hidden_units: list[int],
        tower_hidden_units: list[int],
        **mlp,
    ) -> None:
        extraction = nn.ModuleList()
        spec = in_spec
        for i, level in enumerate(levels):
            extraction.append(
                ExtractionLevel(
                    spec,
                    len(tasks),
                    level["experts_per_task"],
                    level["shared_experts"],
                    level["expert_hidden_units"],
                    level.get("shared_expert_hidden_units") or level["expert_hidden_units"],
                    gate_hidden_units,
                    shared_gate=i < len(levels) - 1,
                    first=i == 0,
                    **mlp,
                )
            )
            spec = extraction[-1].out_width
        super().__init__(tasks, spec, tower_hidden_units, **mlp)
        self.levels = extraction

    def represent(self, x: torch.Tensor) -> torch.Tensor:
        task_in, shared_in = x, x
        for level in self.levels:
            task_in, shared_in = level(task_in, shared_in)
        return task_in


class ShareBottom(MultiTaskModel):
    """One bottom MLP shared by all tasks, then per-task towers."""

    def __init__(self, in_spec, tasks, bottom_hidden_units, tower_hidden_units, **mlp) -> None:
        super().__init__(tasks, bottom_hidden_units[-1], tower_hidden_units, **mlp)
        self.bottom = StackedMLP(1, in_spec, bottom_hidden_units, shared_input=True, **mlp)

    def represent(self, x: torch.Tensor) -> torch.Tensor:
        return self.bottom(x).expand(len(self.tasks), -1, -1)


class SingleTask(MultiTaskModel):
    """One independent network per task; stacked for speed, but no weight is shared."""

    def __init__(self, in_spec, tasks, hidden_units, tower_hidden_units, **mlp) -> None:
        super().__init__(tasks, hidden_units[-1], tower_hidden_units, **mlp)
        self.bottoms = StackedMLP(len(tasks), in_spec, hidden_units, shared_input=True, **mlp)

    def represent(self, x: torch.Tensor) -> torch.Tensor:
        return self.bottoms(x)
