"""Optuna settings (``tuning``) and the shape of the search spaces (``tuning_spaces``).

A search space mirrors the parameters it produces. Its leaves are constants or distributions:

- ``{type: int, low, high, step?, log?}``, ``{type: float, low, high, step?, log?}``
- ``{type: categorical, choices: [...]}``
- ``{repeat: <int distribution>, each: <space>}``: a list of that many sampled items (PLE levels)

In a list of hidden units a sampled ``0`` removes that layer.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, ValidationInfo, field_validator, model_validator
from typing_extensions import TypeAliasType

from census_mtl.config.base import Settings
from census_mtl.config.training import check_task_names


class _Range(Settings):
    low: float
    high: float
    step: float | None = None
    log: bool = False

    @model_validator(mode="after")
    def _ordered(self):
        if self.low > self.high:
            raise ValueError(f"low={self.low} must not exceed high={self.high}")
        if self.log and self.low <= 0:
            raise ValueError(f"a log scale needs low > 0, got {self.low}")
        if self.log and self.step not in (None, 1):
            raise ValueError("step and log cannot be combined")
        return self


class IntDistribution(_Range):
    type: Literal["int"]
    low: int
    high: int
    step: int = Field(1, ge=1)


class FloatDistribution(_Range):
    type: Literal["float"]


class Categorical(Settings):
    type: Literal["categorical"]
    choices: list[bool | int | float | str | None] = Field(min_length=1)


class Repeat(Settings):
    repeat: IntDistribution = Field(description="how many items; low >= 1")
    each: SpaceNode

    @model_validator(mode="after")
    def _at_least_one(self):
        if self.repeat.low < 1:
            raise ValueError("repeat.low must be at least 1")
        return self


def _kind(node: Any) -> str:
    if isinstance(node, dict) and "type" in node:
        return str(node["type"]) if node["type"] in ("int", "float", "categorical") else "unknown"
    if isinstance(node, dict):
        return "repeat" if "repeat" in node else "mapping"
    return "list" if isinstance(node, list) else "constant"


class UnknownDistribution(Settings):
    """A distribution of an unknown type: reported as such, whatever its other keys."""

    type: Literal["int", "float", "categorical"]
    low: Any = None
    high: Any = None
    step: Any = None
    log: Any = None
    choices: Any = None


SpaceNode = TypeAliasType(
    "SpaceNode",
    Annotated[
        Annotated[IntDistribution, Tag("int")]
        | Annotated[FloatDistribution, Tag("float")]
        | Annotated[Categorical, Tag("categorical")]
        | Annotated[UnknownDistribution, Tag("unknown")]
        | Annotated[Repeat, Tag("repeat")]
        | Annotated[dict[str, "SpaceNode"], Tag("mapping")]
        | Annotated[list["SpaceNode"], Tag("list")]
        | Annotated[bool | int | float | str | None, Tag("constant")],
        Discriminator(_kind),
    ],
)
Repeat.model_rebuild()


class SearchSpace(Settings):
    """A model's search space, in the shape of its ``model`` and ``training`` blocks."""

    model: dict[str, SpaceNode] = Field({}, description="space of the network parameters")
    training: dict[str, SpaceNode] = Field({}, description="space of the training settings")


class MedianPruner(Settings):
    type: Literal["median"]
    n_startup_trials: int = Field(5, ge=0, description="trials before pruning starts")
    n_warmup_steps: int = Field(0, ge=0, description="epochs of a trial before it can be pruned")
    interval_steps: int = Field(1, ge=1)


class HyperbandPruner(Settings):
    type: Literal["hyperband"]
    min_resource: int = Field(1, ge=1, description="epochs of the smallest bracket")
    max_resource: int | Literal["auto"] = "auto"
    reduction_factor: int = Field(3, ge=2)


class ThresholdPruner(Settings):
    type: Literal["threshold"]
    lower: float | None = Field(None, description="prune below this validation score")
    upper: float | None = None
    n_warmup_steps: int = Field(0, ge=0)


class NoPruner(Settings):
    type: Literal["none"]


Pruner = Annotated[
    MedianPruner | HyperbandPruner | ThresholdPruner | NoPruner, Field(discriminator="type")
]
STORAGE = r"^(sqlite:///.+|postgresql(\+\w+)?://.+|mysql(\+\w+)?://.+|journal:.+)$"


class Tuning(Settings):
    """An Optuna study per model: ``kedro run --pipelines tune_<model>``."""

    objective: str = Field(
        "mean_auc",
        description="mean_auc, a task name, multi (one objective per task) or per_task (a "
        "study per task, each tuning that task's own booster: gbdt only)",
    )
    n_trials: int | None = Field(
        30, ge=1, description="finished trials the study holds, across reruns and processes"
    )
    timeout: float | None = Field(None, gt=0, description="seconds for this run (null = none)")
    seed: int = Field(0, ge=0, description="seed of the TPE sampler")
    pruner: Pruner = Field(MedianPruner(type="median"), description="on per-epoch validation")
    storage: str = Field(
        pattern=STORAGE,
        description="sqlite:///FILE, postgresql://USER@HOST/DB, mysql://... or journal:FILE",
    )
    trial_training: dict[str, Any] = Field(
        {}, description="overrides of the training settings for trials (deep-merged)"
    )
    heartbeat_interval: int = Field(
        10, ge=1, description="seconds between the heartbeats of a running trial"
    )
    grace_period: int = Field(
        60, ge=1, description="seconds without heartbeat after which a trial's worker is dead"
    )
    retries: int = Field(1, ge=0, description="times a dead worker's trial is run again")
    storage_patience: int = Field(
        120,
        ge=0,
        description="seconds a lost database connection is retried (with backoff) before the "
        "worker stops with one error line",
    )

    @field_validator("objective")
    @classmethod
    def _known_objective(cls, objective: str, info: ValidationInfo) -> str:
        if objective not in ("mean_auc", "multi", "per_task"):
            check_task_names([objective], info, "objective (mean_auc, multi, per_task or a task)")
        return objective

    @model_validator(mode="after")
    def _bounded(self):
        if self.n_trials is None and self.timeout is None:
            raise ValueError("set n_trials, timeout or both")
        if self.grace_period <= self.heartbeat_interval:
            raise ValueError("grace_period must be longer than heartbeat_interval")
        return self
