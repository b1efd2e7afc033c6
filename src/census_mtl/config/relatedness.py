"""Settings of the task-relatedness benchmark (``kedro run --pipelines relatedness``)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from census_mtl.config.base import Settings
from census_mtl.config.network import (
    CGCParams,
    MMoEParams,
    PLEParams,
    ShareBottomParams,
    SingleTaskParams,
)


class SyntheticPairs(Settings):
    """The generator of the MMoE paper's section 5.1 (``census_mtl.data.relatedness``)."""

    dim: int = Field(100, ge=2, description="input dimension d")
    scale: float = Field(1.0, gt=0.0, description="norm c of the task weight vectors")
    sine_terms: int = Field(10, ge=0, description="sine terms m of each label")
    sine_scale: float = Field(
        1.0, ge=0.0, description="std of the sine terms' alpha and beta (drawn once per seed)"
    )
    noise_std: float = Field(0.01, ge=0.0, description="std of each label's Gaussian noise")
    train_rows: int = Field(10000, ge=10, description="training rows per correlation")
    validation_rows: int = Field(2000, ge=10, description="validation rows (early stopping)")
    test_rows: int = Field(2000, ge=10, description="test rows (reported)")
    seed: int = Field(
        0, ge=0, description="seed of the data (the same inputs for every correlation)"
    )


class RelatednessModels(Settings):
    """The networks compared, each with its own parameters (all five are trained)."""

    ple: PLEParams
    cgc: CGCParams
    mmoe: MMoEParams
    share_bottom: ShareBottomParams
    single_task: SingleTaskParams


class Relatedness(Settings):
    """Test MSE of every network against the correlation of two synthetic regression tasks."""

    correlations: list[float] = Field(
        min_length=2, description="cosine similarities of the task weights, each in [-1, 1]"
    )
    data: SyntheticPairs = Field(SyntheticPairs())
    seeds: list[int] = Field(min_length=2, description="model seeds per correlation and network")
    workers: int = Field(
        2, ge=1, description="fits in parallel processes (results do not depend on it)"
    )
    models: RelatednessModels
    training: dict[str, Any] = Field(
        {}, description="overrides of training_defaults for these runs (deep-merged)"
    )

    @field_validator("correlations")
    @classmethod
    def _in_range(cls, values: list[float]) -> list[float]:
        bad = [v for v in values if not -1.0 <= v <= 1.0]
        if bad or len(set(values)) != len(values):
            raise ValueError(f"distinct values in [-1, 1]; got {values}")
        return values
