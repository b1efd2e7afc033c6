"""Model parameters: one declaration per architecture (the ``model`` block of each model)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from census_mtl.config.base import Settings, drop_removed, overrides_of
from census_mtl.config.training import check_task_names

Units = Annotated[list[Annotated[int, Field(ge=1)]], Field(min_length=1)]
OptionalUnits = list[Annotated[int, Field(ge=1)]]


class PeriodicEmbedding(Settings):
    """Periodic embeddings of the numeric features (PLR; Gorishniy et al., 2022)."""

    kind: Literal["periodic"] = Field("periodic", description="the embedding")
    frequencies: int = Field(16, ge=1, description="frequencies per number")
    dim: int = Field(8, ge=1, description="width of each number's embedding")
    sigma: float = Field(0.1, gt=0.0, description="std of the initial frequencies")


class PiecewiseLinearEmbedding(Settings):
    """Piecewise-linear embeddings of the numeric features (Gorishniy et al., 2022; version B
    of TabM, ICLR 2025), over bins fitted to the training rows."""

    kind: Literal["piecewise_linear"] = Field(description="the embedding")
    bins: Literal["quantile", "tree"] = Field(
        "quantile", description="bin edges: training quantiles, or a decision tree's splits"
    )
    n_bins: int = Field(48, ge=2, description="bins per number at most")
    dim: int = Field(8, ge=1, description="width of each number's embedding")
    activation: bool = Field(False, description="ReLU after the piecewise-linear part")
    tree_task: str | None = Field(
        None, description="the task whose labels the tree bins split (null = the first task)"
    )

    @field_validator("tree_task")
    @classmethod
    def _known_task(cls, task: str | None, info: ValidationInfo) -> str | None:
        if task is not None:
            check_task_names([task], info, "tree_task")
        return task


def _embedding_kind(value: Any) -> str:
    """The embedding a block declares: its ``kind``, periodic when it names none."""
    return value.get("kind", "periodic") if isinstance(value, dict) else value.kind


NumericEmbedding = Annotated[
    Annotated[PeriodicEmbedding, Tag("periodic")]
    | Annotated[PiecewiseLinearEmbedding, Tag("piecewise_linear")],
    Discriminator(
        _embedding_kind,
        custom_error_type="unknown_kind",
        custom_error_message="kind must be periodic or piecewise_linear",
    ),
]


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
    batch_ensemble: int = Field(
        1,
        ge=1,
        le=64,
        description="TabM's BatchEnsemble members: every MLP layer's weights shared, each "
        "member with its own scalings and biases; the members' losses averaged in training, "
        "their mean predicted (a funnel model's: the members' mixture; 1 = off)",
    )
    numeric_embedding: Annotated[NumericEmbedding | None, BeforeValidator(drop_removed)] = Field(
        None,
        description="embeddings of the numbers before the first layer: kind periodic (the "
        "default) or piecewise_linear (null = off); a key set to null is dropped, so that an "
        "override can switch kind (the other kind's keys: null)",
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


class ESMMParams(MLPOptions):
    """ESMM (Ma et al., SIGIR 2018): shared field embeddings, one tower per funnel step, each
    later step's loss on the product of the steps' probabilities over the entire space."""

    name: Literal["esmm"] = Field("esmm", description="the architecture")
    embedding_dim: int = Field(8, ge=1, description="width of each field's shared embedding")
    hidden_units: Units = Field(description="layers of each step's tower (CTR, CVR, ...)")


class AITMParams(MLPOptions):
    """AITM (Xi et al., KDD 2021): a tower per funnel step, attention over what the previous
    step transfers, and the behavioural expectation calibrator."""

    name: Literal["aitm"] = Field("aitm", description="the architecture")
    embedding_dim: int = Field(8, ge=1, description="width of each field's shared embedding")
    hidden_units: Units = Field(description="layers of each step's tower before the transfer")
    calibrator_weight: float = Field(
        0.6, ge=0.0, description="weight alpha of the penalty max(p_t - p_(t-1), 0) in the loss"
    )


NetworkParams = (
    PLEParams
    | CGCParams
    | MMoEParams
    | ShareBottomParams
    | SingleTaskParams
    | ESMMParams
    | AITMParams
)
NETWORKS: dict[str, type[NetworkParams]] = {
    "ple": PLEParams,
    "cgc": CGCParams,
    "mmoe": MMoEParams,
    "share_bottom": ShareBottomParams,
    "single_task": SingleTaskParams,
    "esmm": ESMMParams,
    "aitm": AITMParams,
}


class Booster(Settings):
    """LightGBM's settings of one task's booster, early-stopped on validation AUC."""

    num_leaves: int = Field(31, ge=2, description="leaves per tree")
    learning_rate: float = Field(0.05, gt=0.0, le=1.0, description="shrinkage of each tree")
    max_rounds: int = Field(3000, ge=1, description="boosting rounds at most")
    early_stopping_rounds: int = Field(
        100, ge=1, description="rounds without a better validation AUC before stopping"
    )
    min_child_samples: int = Field(20, ge=1, description="rows per leaf at least")
    feature_fraction: float = Field(
        0.8, gt=0.0, le=1.0, description="share of features each tree sees (seeded)"
    )
    bagging_fraction: float = Field(
        0.8, gt=0.0, le=1.0, description="share of rows each tree sees (seeded)"
    )
    bagging_freq: int = Field(1, ge=0, description="re-draw the rows every k trees (0 = off)")
    lambda_l1: float = Field(0.0, ge=0.0, description="L1 penalty on leaf values")
    lambda_l2: float = Field(0.0, ge=0.0, description="L2 penalty on leaf values")
    cat_smooth: float = Field(10.0, ge=0.0, description="smoothing of categorical splits")
    cat_l2: float = Field(10.0, ge=0.0, description="L2 penalty of categorical splits")
    min_data_per_group: int = Field(
        100, ge=1, description="rows per category at least, for a categorical split"
    )
    max_bin: int = Field(255, ge=2, description="histogram bins of a numeric feature")
    use_sample_weight: bool | None = Field(
        None, description="weight rows by instance_weight (null = training.loss.use_sample_weight)"
    )


BoosterOverride = overrides_of(Booster, "A task's own booster settings over the shared ones.")


class GBDTParams(Booster):
    """A LightGBM gradient-boosted tree per task, early-stopped on validation AUC.

    It reads the numeric features and the categorical fields (LightGBM's native categorical
    splits); the quantile-bin fields are left out, since trees cut the numbers themselves.
    Every task's booster has the shared settings, with its entry in ``tasks`` over them.
    """

    name: Literal["gbdt"] = Field("gbdt", description="the architecture")
    tasks: Annotated[dict[str, BoosterOverride], BeforeValidator(drop_removed)] = Field(
        {}, description="a task's own booster settings over the shared ones; null removes one"
    )

    @field_validator("tasks")
    @classmethod
    def _known_tasks(cls, tasks: dict, info: ValidationInfo) -> dict:
        check_task_names(tasks, info, "tasks keys")
        return tasks

    def for_task(self, task: str) -> Booster:
        """``task``'s booster: the shared settings with the task's own over them."""
        own = self.tasks.get(task)
        shared = self.model_dump(include=set(Booster.model_fields))
        return Booster.model_validate(shared | (own.model_dump(exclude_none=True) if own else {}))


class BlendParams(Settings):
    """The GBDT's and one network's outputs mixed per task, ``w * gbdt + (1 - w) * network``,
    with the GBDT's weight ``w`` of each task and seed chosen on validation."""

    name: Literal["blend"] = Field("blend", description="the model")
    network: Literal["best", *NETWORKS] = Field(
        "best",
        description="the network mixed with the GBDT; best: the trained network with the "
        "highest validation AUC (mean over tasks and seeds)",
    )
    weight_step: float = Field(
        0.05, gt=0.0, le=0.5, description="step of the grid of GBDT weights from 0 to 1"
    )


MODELS: dict[str, type[NetworkParams | GBDTParams]] = {**NETWORKS, "gbdt": GBDTParams}
ModelParams = NetworkParams | GBDTParams
MODEL_NAMES = tuple(MODELS)
