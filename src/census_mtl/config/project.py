"""Every parameter block of the project, and the check that runs before any work starts.

``validate_params`` takes the parameters Kedro loaded (base, environment and ``--params``
merged) and returns them typed, or raises one ``ConfigError`` that lists every bad key by its
full path. It checks each model's ``training`` block merged into ``training_defaults``, the
trial settings, and each search space's shape (its first draw must be a valid model).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BeforeValidator, Field, field_validator, model_validator

from census_mtl.config.base import (
    ConfigError,
    Settings,
    config_error,
    drop_removed,
    merge_settings,
    validate,
)
from census_mtl.config.network import (
    MODEL_NAMES,
    MODELS,
    AITMParams,
    BlendParams,
    CGCParams,
    ESMMParams,
    GBDTParams,
    MMoEParams,
    ModelParams,
    PLEParams,
    ShareBottomParams,
    SingleTaskParams,
)
from census_mtl.config.relatedness import Relatedness
from census_mtl.config.study import BalancingStudy
from census_mtl.config.training import INFERENCE_BATCH, Training
from census_mtl.config.tuning import SearchSpace, Tuning
from census_mtl.data.schema import CATEGORIES, COLUMNS, LABEL, LABEL_VALUES, NUMERIC
from census_mtl.tuning.space import FirstDraw, sample

ModelName = Literal["ple", "cgc", "mmoe", "share_bottom", "single_task", "esmm", "aitm", "gbdt"]
assert set(MODEL_NAMES) == set(ModelName.__args__)
SCORABLE = (*MODEL_NAMES, "blend")  # every model file a run writes


TaskType = Literal["binary", "regression"]


class Task(Settings):
    column: str = Field(description="census column the label comes from")
    type: TaskType = Field(
        "binary", description="binary (BCE, AUC) or regression (MSE, R²) on a numeric column"
    )
    positive: list[str | int] = Field(
        [], description="values that make a binary label 1 (regression: none)"
    )
    at_least: float | None = Field(
        None, description="a binary label on a numeric column: 1 where the value is at least this"
    )
    space: str | None = Field(
        None,
        description="a funnel step: the task whose positives this task is defined in (its "
        "label is missing elsewhere, so it is learned and scored inside that space)",
    )

    @field_validator("column")
    @classmethod
    def _known_column(cls, column: str) -> str:
        if column not in COLUMNS:
            raise ValueError(f"unknown column; columns: {', '.join(COLUMNS)}")
        return column

    @model_validator(mode="after")
    def _known_values(self) -> Task:
        if self.type == "regression":
            if self.column not in NUMERIC or self.positive or self.at_least is not None:
                raise ValueError(
                    "a regression task takes a numeric column and no positive values; "
                    f"numeric columns: {', '.join(NUMERIC)}"
                )
            return self
        if self.at_least is not None:
            if self.column not in NUMERIC or self.positive:
                raise ValueError("at_least takes a numeric column and no positive values")
            return self
        if not self.positive:
            raise ValueError("a binary task needs positive values (or at_least)")
        known = LABEL_VALUES if self.column == LABEL else CATEGORIES[self.column] or ()
        missing = [v for v in self.positive if v not in known]
        if missing:
            raise ValueError(
                f"positive values {missing} are not values of {self.column!r}; "
                f"allowed: {list(known)}"
            )
        return self


class Split(Settings):
    validation_fraction: float = Field(
        0.5, gt=0.0, lt=1.0, description="share of UCI's test file that validates"
    )
    seed: int = Field(2020, ge=0, description="seed of the validation/test split")


class Preprocess(Settings):
    tasks: Annotated[dict[str, Task], BeforeValidator(drop_removed)] = Field(
        min_length=1, description="one task per entry; null removes a task of base"
    )
    drop_columns: list[str] = Field(
        ["education"], description="columns that are not features (MMoE paper, section 6.3)"
    )
    numeric_bins: int = Field(
        32, ge=0, description="quantile bins of each numeric column as an extra field (0 = off)"
    )
    split: Split = Field(Split())
    label_fraction: dict[str, Annotated[float, Field(gt=0.0, le=1.0)]] = Field(
        {},
        description="share of the training rows that keep a task's label (scarce labels; "
        "validation and test keep all)",
    )
    label_seed: int = Field(0, ge=0, description="seed of the rows that keep their labels")

    @model_validator(mode="after")
    def _fraction_tasks(self) -> Preprocess:
        stray = [t for t in self.label_fraction if t not in self.tasks]
        if stray:
            raise ValueError(f"label_fraction: {stray} are not tasks: {', '.join(self.tasks)}")
        return self

    @field_validator("tasks")
    @classmethod
    def _funnel(cls, tasks: dict[str, Task]) -> dict[str, Task]:
        for name, task in tasks.items():
            if task.space is None:
                continue
            parent = tasks.get(task.space)
            earlier = list(tasks)[: list(tasks).index(name)]
            if parent is None or task.space not in earlier:
                raise ValueError(
                    f"{name}.space must be a task declared before it (funnel order): "
                    f"{', '.join(earlier) or 'none'}"
                )
            if task.type != "binary" or parent.type != "binary":
                raise ValueError(f"{name}.space: funnel steps are binary tasks")
            seen = {name}
            while parent is not None and parent.space is not None:
                if parent.space in seen:
                    raise ValueError(f"{name}.space: the funnel has a cycle")
                seen.add(parent.space)
                parent = tasks.get(parent.space)
        return tasks

    @field_validator("drop_columns")
    @classmethod
    def _known_columns(cls, columns: list[str]) -> list[str]:
        unknown = [c for c in columns if c not in COLUMNS]
        if unknown:
            raise ValueError(f"{unknown} are not census columns: {', '.join(COLUMNS)}")
        return columns

    @field_validator("numeric_bins")
    @classmethod
    def _not_one(cls, bins: int) -> int:
        if bins == 1:
            raise ValueError("use 0 (off) or at least 2 bins")
        return bins


class Evaluation(Settings):
    bootstrap_samples: int = Field(1000, ge=1, description="resamples for each AUC's 95 % interval")
    seed: int = Field(0, ge=0, description="seed of the bootstrap")
    curve_points: int = Field(201, ge=2, description="grid points of the ROC and PR curves")
    batch_size: int = Field(
        INFERENCE_BATCH, ge=1, description="inference batch, also for throughput"
    )
    throughput_repeats: int = Field(3, ge=1, description="passes whose median is the throughput")
    unused_expert_threshold: float = Field(
        0.05,
        ge=0.0,
        lt=1.0,
        description="an allowed expert whose mean gate weight is below this is flagged unused",
    )


class Compare(Settings):
    baseline: ModelName = Field(
        "single_task", description="the MTL gain of every model is measured against it"
    )
    bar: ModelName = Field("gbdt", description="the strong baseline every model is compared with")
    focus: ModelName = Field("ple", description="the model compared with every other one")
    alpha: float = Field(
        0.05, gt=0.0, lt=1.0, description="family-wise error rate of the paired tests (Holm)"
    )
    report_dir: str = Field(description="folder of the report (links are relative to it)")
    links: dict[str, str] = Field({}, description="pages linked from the report when present")
    references: Annotated[dict[str, dict[str, float]], BeforeValidator(drop_removed)] = Field(
        {},
        description="published test AUC per task, shown as labelled rows (not measured here; "
        "null removes one of base)",
    )


class Predict(Settings):
    run: Literal["best"] | int = Field("best", description="'best' (validation AUC) or a seed")
    on_bad_rows: Literal["skip", "fail"] = Field("skip", description="skip and report, or fail")
    batch_size: int = Field(INFERENCE_BATCH, ge=1, description="inference batch")


class SyntheticData(Settings):
    raw_dir: str = Field(description="where the synthetic raw files are written on first use")
    train_rows: int = Field(4000, ge=10, description="rows of the synthetic train file")
    test_rows: int = Field(2000, ge=10, description="rows of the synthetic test file")
    seed: int = Field(0, ge=0, description="seed of the synthetic data")


P = TypeVar("P", bound=ModelParams)


class ModelSection(Settings, Generic[P]):
    model: P = Field(description="the network: its name and parameters")
    training: dict[str, Any] = Field(
        {}, description="overrides of training_defaults for this model (deep-merged)"
    )


class BlendSection(Settings):
    model: BlendParams = Field(BlendParams(), description="the network mixed and the weight grid")


class Params(Settings):
    """All parameters of a run."""

    preprocess: Preprocess
    training_defaults: Training = Field(Training())
    ple: ModelSection[PLEParams]
    cgc: ModelSection[CGCParams]
    mmoe: ModelSection[MMoEParams]
    share_bottom: ModelSection[ShareBottomParams]
    single_task: ModelSection[SingleTaskParams]
    esmm: ModelSection[ESMMParams]
    aitm: ModelSection[AITMParams]
    gbdt: ModelSection[GBDTParams]
    blend: BlendSection = Field(BlendSection(), description="the GBDT and a network, mixed")
    evaluation: Evaluation = Field(Evaluation())
    compare: Compare
    predict: Predict = Field(Predict())
    tuning: Tuning
    tuning_spaces: dict[ModelName, SearchSpace] = Field({})
    synthetic_data: SyntheticData | None = Field(None, description="sample environment only")
    relatedness: Relatedness
    balancing_study: BalancingStudy = Field(BalancingStudy())
    predict_input: str | None = Field(None, description="file the predict pipeline scores")
    predict_model: str | None = Field(
        None, description="model the predict pipeline uses: a model name or an absolute path"
    )

    @field_validator("predict_model")
    @classmethod
    def _model_name_or_absolute_path(cls, value: str | None) -> str | None:
        if value is None or value in SCORABLE or Path(value).is_absolute():
            return value
        raise ValueError(
            f"a model name ({', '.join(SCORABLE)}) or an absolute path; a relative "
            "path is not read, so that no name leads out of the model folder"
        )

    def section(self, name: str) -> ModelSection:
        return getattr(self, name)


def task_types(tasks: Mapping, names: Sequence[str]) -> list[str]:
    """The type of each of ``names`` in ``preprocess.tasks`` (binary unless declared)."""
    declared = drop_removed(tasks)
    return [(declared.get(name) or {}).get("type", "binary") for name in names]


def task_spaces(tasks: Mapping, names: Sequence[str]) -> dict[str, str]:
    """Each funnel step of ``names`` and the task whose positives it is defined in."""
    declared = drop_removed(tasks)
    spaces = {name: (declared.get(name) or {}).get("space") for name in names}
    return {name: space for name, space in spaces.items() if space}


def _tasks_of(params: Mapping) -> list[str] | None:
    tasks = drop_removed((params.get("preprocess") or {}).get("tasks"))
    return list(tasks) if isinstance(tasks, Mapping) else None


def _problems(model: type, data: Any, where: str, context: dict) -> list[str]:
    try:
        validate(model, data, where, context)
    except ConfigError as exc:
        return str(exc).splitlines()[1:]
    return []


def _dependent_problems(params: Mapping, context: dict) -> list[str]:
    """Blocks checked merged: model training overrides, trial settings, search spaces."""
    defaults, trial = params["training_defaults"], params["tuning"].get("trial_training", {})
    problems = _problems(
        Training, merge_settings(defaults, trial), "tuning.trial_training", context
    )
    for name in MODEL_NAMES:
        section = params[name]
        merged = merge_settings(defaults, section.get("training", {}))
        problems += _problems(Training, merged, f"{name}.training", context)
        space = params.get("tuning_spaces", {}).get(name)
        if space and not problems:
            drawn = sample(FirstDraw(), space)
            model = merge_settings(section["model"], drawn.get("model", {}))
            where = f"tuning_spaces.{name}"
            problems += _problems(MODELS[name], model, f"{where}.model", context)
            training = merge_settings(merged, trial, drawn.get("training", {}))
            problems += _problems(Training, training, f"{where}.training", context)
    return problems


PAIR = ("task1", "task2")  # the relatedness benchmark's two tasks


def validate_params(params: Mapping) -> Params:
    """The run's parameters typed, or one ``ConfigError`` naming every bad key."""
    context = {"tasks": _tasks_of(params)}
    typed = validate(Params, params, "", context)
    problems = _dependent_problems(params, context)
    overrides = params["relatedness"].get("training", {})
    merged = merge_settings(params["training_defaults"], overrides)
    problems += _problems(Training, merged, "relatedness.training", {"tasks": list(PAIR)})
    if problems:
        raise config_error(problems)
    return typed


def training_settings(defaults: Mapping, *overrides: Mapping, tasks: list[str]) -> Training:
    """``defaults`` deep-merged with ``overrides`` (a model's ``training``, trial values), typed."""
    return validate(Training, merge_settings(defaults, *overrides), "training", {"tasks": tasks})
