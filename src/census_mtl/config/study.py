"""Settings of the balancing study (``kedro run --pipelines balancing``)."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field, field_validator

from census_mtl.config.base import Settings
from census_mtl.config.training import BalancingMethod

StudyNetwork = Literal["ple", "cgc", "mmoe", "share_bottom"]


class BalancingStudy(Settings):
    """Each balancing method on each network, every seed, on one setting's data: paired
    against ``equal`` and, through the multi-task gain Δm, against single-task."""

    setting: str = Field(
        "census",
        pattern=r"^[A-Za-z0-9_.+-]+$",
        description="name of the setting the census data of this environment make (its "
        "results' folder under the study's root)",
    )
    methods: list[BalancingMethod] = Field(
        list(get_args(BalancingMethod)),
        min_length=2,
        description="balancing methods compared; equal (the reference) among them",
    )
    networks: list[StudyNetwork] = Field(
        ["ple", "share_bottom"],
        min_length=1,
        description="multi-task networks, each with its parameters from the setting's own "
        "model section; single_task is trained too, as the reference of Δm",
    )
    seeds: list[int] = Field([1, 2, 3, 4, 5], min_length=2, description="seeds per training")
    workers: int = Field(
        1, ge=1, description="trainings in parallel processes (results do not depend on it)"
    )
    correlations: list[float] = Field(
        [-0.5, 0.0],
        min_length=1,
        description="task-relatedness pairs in the study (balancing_relatedness), each one of "
        "relatedness.correlations' kind: the cosine of the task weights",
    )
    bootstrap_samples: int = Field(
        1000, ge=100, description="test-row resamples of the interval of Δm"
    )

    @field_validator("methods", "networks", "seeds", "correlations")
    @classmethod
    def _distinct(cls, values: list) -> list:
        if len(set(values)) != len(values):
            raise ValueError(f"distinct values; got {values}")
        return values

    @field_validator("methods")
    @classmethod
    def _with_equal(cls, values: list[str]) -> list[str]:
        if "equal" not in values:
            raise ValueError("equal, the reference of the paired tests, must be among them")
        return values

    @field_validator("correlations")
    @classmethod
    def _in_range(cls, values: list[float]) -> list[float]:
        if any(not -1.0 <= v <= 1.0 for v in values):
            raise ValueError(f"values in [-1, 1]; got {values}")
        return values
