"""Network parameters: one declaration per architecture (the ``model`` block of each model)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from census_mtl.config.base import Settings

Units = Annotated[list[Annotated[int, Field(ge=1)]], Field(min_length=1)]
OptionalUnits = list[Annotated[int, Field(ge=1)]]


class MLPOptions(Settings):
    """Options every network shares: towers and the MLP layers' dropout, norm and activation."""

    tower_hidden_units: OptionalUnits = Field(
        [], description="hidden layers of each task's tower before its output ([] = linear)"
    )
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="dropout after each hidden layer")
    norm: Literal["batch", "layer"] | None = Field(
        None, description="normalisation after each hidden layer (null = none)"
    )
    activation: Literal["relu", "gelu", "silu", "tanh"] = Field(
        "relu", description="activation of the hidden layers"
    )


class Level(Settings):
    """One PLE extraction level."""

    experts_per_task: int = Field(ge=0, description="task-specific experts of each task")
    shared_experts: int = Field(ge=0, description="experts shared by all tasks")
    expert_hidden_units: Units = Field(description="layers of each expert")
    shared_expert_hidden_units: Units | None = Field(
        None, description="layers of the shared experts (null = expert_hidden_units)"
    )

    @model_validator(mode="after")
    def _experts_fit(self) -> Level:
        if self.experts_per_task + self.shared_experts == 0:
            raise ValueError("a level needs at least one expert")
        shared = self.shared_expert_hidden_units or self.expert_hidden_units
        if shared[-1] != self.expert_hidden_units[-1]:
            raise ValueError(
                "task and shared experts must share an output width, got "
                f"{self.expert_hidden_units[-1]} and {shared[-1]}"
            )
        return self


GateUnits = Field([], description="hidden layers of each gate ([] = a linear gate)")


class PLEParams(MLPOptions):
    """PLE (Tang et al., RecSys 2020): extraction levels of task and shared experts with gates."""

    name: Literal["ple"] = Field("ple", description="the architecture")
    levels: list[Level] = Field(min_length=1, description="extraction levels, bottom first")
    gate_hidden_units: OptionalUnits = GateUnits


class CGCParams(MLPOptions):
    """CGC: PLE with exactly one extraction level."""

    name: Literal["cgc"] = Field("cgc", description="the architecture")
    levels: list[Level] = Field(min_length=1, max_length=1, description="exactly one level")
    gate_hidden_units: OptionalUnits = GateUnits


class MMoEParams(MLPOptions):
    """MMoE (Ma et al., KDD 2018): shared experts and one gate per task."""

    name: Literal["mmoe"] = Field("mmoe", description="the architecture")
    num_experts: int = Field(ge=1, description="shared experts")
    expert_hidden_units: Units = Field(description="layers of each expert")
    gate_hidden_units: OptionalUnits = GateUnits


class ShareBottomParams(MLPOptions):
    """Shared-Bottom: one bottom MLP feeding every task's tower."""

    name: Literal["share_bottom"] = Field("share_bottom", description="the architecture")
    bottom_hidden_units: Units = Field(description="layers of the shared bottom")


class SingleTaskParams(MLPOptions):
    """Single-task: one independent network per task."""

    name: Literal["single_task"] = Field("single_task", description="the architecture")
    hidden_units: Units = Field(description="layers of each task's network")


NetworkParams = PLEParams | CGCParams | MMoEParams | ShareBottomParams | SingleTaskParams
NETWORKS: dict[str, type[NetworkParams]] = {
    "ple": PLEParams,
    "cgc": CGCParams,
    "mmoe": MMoEParams,
    "share_bottom": ShareBottomParams,
    "single_task": SingleTaskParams,
}
MODEL_NAMES = tuple(NETWORKS)
