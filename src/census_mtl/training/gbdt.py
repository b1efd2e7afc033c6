"""Fit the gradient-boosted baseline: one LightGBM booster per task, early-stopped on
validation AUC, seeded; the history holds the validation AUC of every boosting round."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import lightgbm as lgb
import numpy as np
import torch

from census_mtl.config import GBDTParams, Training
from census_mtl.config.network import Booster
from census_mtl.metrics import score_name
from census_mtl.models.gbdt import lightgbm_params, tree_columns
from census_mtl.models.inputs import FeatureLayout
from census_mtl.training.data import TensorData


def _features(data: TensorData, columns: list[int]) -> np.ndarray:
    """The columns the trees read, as float64, once for every task."""
    return data.x.numpy()[:, columns].astype(np.float64)


def _labelled(labels: torch.Tensor) -> tuple[np.ndarray | slice, np.ndarray]:
    """The rows where a task's label is present (all: a slice, no copy) and their labels."""
    y = labels.numpy()
    present = ~np.isnan(y)
    return (slice(None), y) if present.all() else (present, y[present])


def fit_task(
    params: Booster,
    settings: Training,
    seed: int,
    train: lgb.Dataset,
    validation: lgb.Dataset,
    kind: str,
) -> tuple[lgb.Booster, list[float]]:
    """One task's booster, cut at its best validation round, and its validation score per
    round: AUC of a binary task, R² (1 - L2 / label variance) of a regression task."""
    record: dict = {}
    booster = lgb.train(
        lightgbm_params(params, seed, settings.num_threads, kind),
        train,
        num_boost_round=params.max_rounds,
        valid_sets=[validation],
        valid_names=["validation"],
        callbacks=[
            lgb.early_stopping(params.early_stopping_rounds, verbose=False),
            lgb.record_evaluation(record),
        ],
    )
    if kind == "binary":
        return booster, record["validation"]["auc"]
    variance = float(np.var(validation.get_label()))
    return booster, [1.0 - l2 / variance for l2 in record["validation"]["l2"]]


def _datasets(
    x: tuple[np.ndarray, np.ndarray],
    data: tuple[TensorData, TensorData],
    column: int,
    categorical: list[int],
    weighted: bool,
) -> tuple[lgb.Dataset, lgb.Dataset]:
    """Training and validation sets of the task in label ``column``, on its labelled rows."""
    (x_train, x_validation), (train, validation) = x, data
    rows, labels = _labelled(train.y[:, column])
    weight = train.w.numpy()[rows] if weighted else None
    train_set = lgb.Dataset(x_train[rows], labels, weight=weight, categorical_feature=categorical)
    rows, labels = _labelled(validation.y[:, column])
    validation_set = lgb.Dataset(
        x_validation[rows], labels, categorical_feature=categorical, reference=train_set
    )
    return train_set, validation_set


def _history(curves: dict[str, list[float]], kinds: dict[str, str], seconds: float) -> list[dict]:
    """One row per boosting round: each task's validation score (NaN once it stopped)."""
    rounds = max(len(c) for c in curves.values())
    history = []
    for r in range(rounds):
        scores = {t: float(c[r]) if r < len(c) else math.nan for t, c in curves.items()}
        row = {"epoch": r + 1, "seconds": seconds / rounds, "train_loss": math.nan}
        row |= {f"val_{score_name(kinds[t])}_{t}": v for t, v in scores.items()}
        history.append(row | {"val_mean_auc": sum(scores.values()) / len(scores)})
    return history


def fit_gbdt(
    params: GBDTParams,
    settings: Training,
    seed: int,
    tasks: list[str],
    layout: FeatureLayout,
    train: TensorData,
    validation: TensorData,
    types: list[str] | None = None,
    only: Sequence[str] | None = None,
) -> tuple[dict[str, str], dict[str, int], list[dict[str, float]]]:
    """Text models and best round per task, and one history row per boosting round. Each
    task's booster (``params.for_task``) trains and early-stops on the rows where its label is
    present; ``only`` fits those tasks alone (a study of one task's booster)."""
    columns, categorical = tree_columns(layout)
    kinds = dict(zip(tasks, types or ["binary"] * len(tasks), strict=True))
    models, best, curves, started = {}, {}, {}, time.perf_counter()
    x = (_features(train, columns), _features(validation, columns))
    for i, task in enumerate(tasks):
        if only is not None and task not in only:
            continue
        booster = params.for_task(task)
        weighted = booster.use_sample_weight
        weighted = settings.loss.use_sample_weight if weighted is None else weighted
        sets = _datasets(x, (train, validation), i, categorical, weighted)
        fitted, curves[task] = fit_task(booster, settings, seed, *sets, kinds[task])
        best[task] = fitted.best_iteration
        models[task] = fitted.model_to_string(num_iteration=fitted.best_iteration)
    return models, best, _history(curves, kinds, time.perf_counter() - started)
