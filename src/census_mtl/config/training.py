"""Training settings: ``training_defaults``, deep-merged with each model's ``training`` block.

Task names (early-stopping metric, task weights, task spaces) are checked against the tasks in
``preprocess.tasks`` when the validation context carries them (``{"tasks": [...]}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from census_mtl.config.base import Settings

NonNegative = Annotated[float, Field(ge=0.0)]
# Rows per inference pass (validation, evaluation, prediction): 2,048-4,096 are the fastest on
# 2 CPU cores, larger passes leave the caches (docs/benchmarks.md).
INFERENCE_BATCH = 4096


def _tasks(info: ValidationInfo) -> list[str] | None:
    return (info.context or {}).get("tasks")


def check_task_names(names: Any, info: ValidationInfo, what: str) -> None:
    """Raise ``ValueError`` when ``names`` holds a name that is not a task."""
    tasks = _tasks(info)
    stray = [n for n in names if tasks is not None and n not in tasks]
    if stray:
        raise ValueError(f"{what} {stray} are not tasks; tasks: {', '.join(tasks)}")


class Optimizer(Settings):
    name: Literal["adam", "adamw"] = Field("adam", description="torch.optim.Adam or AdamW")
    learning_rate: float = Field(1e-3, gt=0.0, le=10.0, description="step size")
    weight_decay: float = Field(0.0, ge=0.0, description="L2 penalty (decoupled for adamw)")


class EarlyStopping(Settings):
    metric: str = Field(
        "mean_auc", description="validation score that selects the epoch: mean_auc or a task name"
    )
    patience: int = Field(3, ge=1, description="epochs without a better score before stopping")

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, metric: str, info: ValidationInfo) -> str:
        tasks = _tasks(info)
        if tasks is not None and metric not in ("mean_auc", *tasks):
            raise ValueError(f"use 'mean_auc' or a task: {', '.join(tasks)}")
        return metric


class TaskSpace(Settings):
    indicator: str = Field(description="the task whose positives define the space")
    in_space_weight: NonNegative = Field(1.0, description="row weight inside the space")
    out_space_weight: NonNegative = Field(
        0.0, description="row weight outside the space (0 = learn only inside it)"
    )


class Loss(Settings):
    task_weights: dict[str, NonNegative] = Field(
        {}, description="weight of each task's loss in the total (a missing task weighs 1.0)"
    )
    use_sample_weight: bool = Field(
        False, description="weight rows by census instance_weight (off in the papers)"
    )
    task_space: dict[str, TaskSpace] = Field(
        {}, description="TorchEasyRec's task-space indicator per task"
    )

    @field_validator("task_weights", "task_space")
    @classmethod
    def _known_tasks(cls, named: Mapping, info: ValidationInfo) -> Mapping:
        check_task_names(named, info, f"{info.field_name} keys")
        return named

    @model_validator(mode="after")
    def _indicators(self, info: ValidationInfo) -> Loss:
        for task, space in self.task_space.items():
            if space.indicator == task:
                raise ValueError(f"task_space.{task}.indicator must be another task")
            check_task_names([space.indicator], info, f"task_space.{task}.indicator")
        return self


class Schedule(Settings):
    """The learning rate over training: constant, or linear warm-up then cosine decay."""

    name: Literal["constant", "cosine"] = Field(
        "constant", description="constant, or cosine decay to min_factor over max_epochs"
    )
    warmup_epochs: float = Field(0.0, ge=0.0, description="epochs of linear warm-up from 0")
    min_factor: float = Field(
        0.0, ge=0.0, le=1.0, description="last learning rate as a share of the first"
    )


BalancingMethod = Literal[
    "equal",
    "uncertainty",
    "gradnorm",
    "dwa",
    "upgrad",
    "mgda",
    "pcgrad",
    "cagrad",
    "nash_mtl",
    "aligned_mtl",
]


class Balancing(Settings):
    """How the tasks' losses become one update (``census_mtl.balancing``)."""

    method: BalancingMethod = Field(
        "equal",
        description="equal (the task weights as they are), uncertainty, gradnorm, dwa (loss "
        "weighting) or, through TorchJD on the shared parameters, upgrad, mgda, pcgrad, cagrad, "
        "nash_mtl, aligned_mtl",
    )
    dwa_temperature: float = Field(2.0, gt=0.0, description="DWA's temperature T")
    gradnorm_alpha: float = Field(1.5, ge=0.0, description="GradNorm's asymmetry alpha")
    weight_learning_rate: float = Field(
        0.025, gt=0.0, description="Adam step of GradNorm's task weights"
    )
    cagrad_c: float = Field(0.5, ge=0.0, description="CAGrad's radius c")


Device = Annotated[str, Field(pattern=r"^(auto|cpu|mps|cuda(:\d+)?)$")]


class Training(Settings):
    """How a model trains; every model's ``training`` block overrides single keys of these."""

    seeds: list[int] = Field(
        [1, 2, 3], min_length=1, description="one trained instance per seed; reports mean ± std"
    )
    device: Device = Field(
        "auto", description="auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps"
    )
    num_threads: int | None = Field(2, ge=1, description="torch CPU threads (null = default)")
    optimizer: Optimizer = Field(Optimizer())
    batch_size: int = Field(1024, ge=1, description="rows per training step")
    eval_batch_size: int = Field(
        INFERENCE_BATCH, ge=1, description="rows per validation forward pass"
    )
    max_epochs: int = Field(30, ge=1, description="epochs at most")
    schedule: Schedule = Field(Schedule())
    ema_decay: float | None = Field(
        None,
        gt=0.0,
        lt=1.0,
        description="evaluate and keep an exponential moving average of the weights (null = off)",
    )
    early_stopping: EarlyStopping = Field(EarlyStopping())
    loss: Loss = Field(Loss())
    balancing: Balancing = Field(Balancing())
    resume: bool = Field(
        True, description="continue from the model's last checkpoint of this config and data"
    )
    compile: Literal["auto", True, False] = Field(
        "auto",
        description="true: one fused, torch.compiled graph per training step (a C++ compiler "
        "on CPU); auto: where it pays (docs/training.md); false: eager",
    )
    fast_ops: bool = Field(
        True,
        description="the speed kernels of census_mtl.ops (category-sum gradient, dropout mask, "
        "with compile the fused step); false: plain PyTorch (embedding_bag, nn.Dropout, "
        "torch.optim)",
    )

    @field_validator("seeds")
    @classmethod
    def _distinct(cls, seeds: list[int]) -> list[int]:
        if len(set(seeds)) != len(seeds):
            raise ValueError("seeds must be distinct")
        return seeds
