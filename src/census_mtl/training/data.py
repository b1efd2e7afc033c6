"""Model input frames as in-memory tensors."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from census_mtl.config.project import task_spaces, task_types
from census_mtl.features import LABEL_PREFIX, WEIGHT_COLUMN
from census_mtl.models import FeatureLayout


@dataclass(frozen=True)
class TensorData:
    """Features ``x (N, D)``, labels ``y (N, tasks)`` and sample weights ``w (N,)``."""

    x: torch.Tensor
    y: torch.Tensor
    w: torch.Tensor

    def __len__(self) -> int:
        return len(self.x)

    def to(self, device: torch.device) -> TensorData:
        return TensorData(self.x.to(device), self.y.to(device), self.w.to(device))

    def rows(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``x``, ``y`` and ``w`` of the rows at ``index`` (``index_select`` beats ``[]``)."""
        return tuple(t.index_select(0, index) for t in (self.x, self.y, self.w))


def batches(order: torch.Tensor, batch_size: int) -> Iterator[torch.Tensor]:
    """The batches of row indices in ``order``, behind a progress bar; a lone last row is
    dropped (batch norm needs two)."""
    for start in tqdm(range(0, len(order), batch_size), desc="train", leave=False, disable=None):
        index = order[start : start + batch_size]
        if len(index) >= 2:
            yield index


def feature_names(frame: pd.DataFrame) -> list[str]:
    """The feature columns of a model input frame, in order."""
    return [c for c in frame.columns if not c.startswith(LABEL_PREFIX) and c != WEIGHT_COLUMN]


def to_tensors(frame: pd.DataFrame, tasks: Sequence[str], layout: FeatureLayout) -> TensorData:
    """Tensors from a model input frame; a frame that does not fit ``layout`` raises."""
    features = feature_names(frame)
    if len(features) != layout.n_columns:
        raise ValueError(
            f"model input has {len(features)} feature columns, the layout expects "
            f"{layout.n_columns}: rerun the preprocess pipeline."
        )
    missing = [t for t in tasks if f"{LABEL_PREFIX}{t}" not in frame.columns]
    if missing:
        raise ValueError(f"model input has no label for tasks {missing}.")
    values = frame[features].to_numpy(np.float32, copy=True)
    if not np.isfinite(values).all():
        row, col = np.argwhere(~np.isfinite(values))[0]
        raise ValueError(
            f"model input has a non-finite value at row {row}, column {features[col]!r}."
        )
    labels = frame[[f"{LABEL_PREFIX}{t}" for t in tasks]].to_numpy(np.float32, copy=True)
    return TensorData(
        torch.from_numpy(values),
        torch.from_numpy(labels),
        torch.from_numpy(frame[WEIGHT_COLUMN].to_numpy(np.float32, copy=True)),
    )


def task_names(frame: pd.DataFrame) -> list[str]:
    """The tasks of a model input frame, from its ``y__<task>`` label columns."""
    return [c.removeprefix(LABEL_PREFIX) for c in frame.columns if c.startswith(LABEL_PREFIX)]


@dataclass(frozen=True)
class ModelInput:
    """What a training reads: the tasks (their types and funnel spaces), the feature layout,
    and the training and validation tensors."""

    tasks: list[str]
    layout: FeatureLayout
    train: TensorData
    validation: TensorData
    types: list[str] = field(default_factory=list)
    spaces: dict[str, str] = field(default_factory=dict)


def training_inputs(
    train: pd.DataFrame,
    validation: pd.DataFrame,
    feature_layout: dict,
    task_settings: Mapping | None = None,
) -> ModelInput:
    """The model input of both splits; ``task_settings`` (``preprocess.tasks``) gives each
    task's type (binary unless declared) and funnel space."""
    tasks, layout = task_names(train), FeatureLayout.from_dict(feature_layout)
    declared = task_settings or {}
    return ModelInput(
        tasks,
        layout,
        to_tensors(train, tasks, layout),
        to_tensors(validation, tasks, layout),
        task_types(declared, tasks),
        task_spaces(declared, tasks),
    )
