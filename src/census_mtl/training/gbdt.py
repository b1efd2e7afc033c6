"""Fit the gradient-boosted baseline: one LightGBM booster per task, early-stopped on
validation AUC, seeded; the history holds the validation AUC of every boosting round."""

from __future__ import annotations

import math
import time

import lightgbm as lgb
import numpy as np
import torch

from census_mtl.config import GBDTParams, Training
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
    params: GBDTParams,
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


def fit_gbdt(
    params: GBDTParams,
    settings: Training,
    seed: int,
    tasks: list[str],
    layout: FeatureLayout,
    train: TensorData,
    validation: TensorData,
    types: list[str] | None = None,
) -> tuple[dict[str, str], dict[str, int], list[dict[str, float]]]:
    """Text models and best round per task, and one history row per boosting round. Each
    task's booster trains and early-stops on the rows where its label is present."""
    columns, categorical = tree_columns(layout)
    weighted = settings.loss.use_sample_weight
    models, best, curves, started = {}, {}, {}, time.perf_counter()
    x_train, x_validation = _features(train, columns), _features(validation, columns)
    weight = train.w.numpy() if weighted else None
    for i, task in enumerate(tasks):
        rows, labels = _labelled(train.y[:, i])
        train_set = lgb.Dataset(
            x_train[rows],
            labels,
            weight=None if weight is None else weight[rows],
            categorical_feature=categorical,
        )
        rows, labels = _labelled(validation.y[:, i])
        validation_set = lgb.Dataset(
            x_validation[rows], labels, categorical_feature=categorical, reference=train_set
        )
        kind = (types or ["binary"] * len(tasks))[i]
        booster, curves[task] = fit_task(params, settings, seed, train_set, validation_set, kind)
        best[task] = booster.best_iteration
        models[task] = booster.model_to_string(num_iteration=booster.best_iteration)
    rounds = max(len(c) for c in curves.values())
    seconds = (time.perf_counter() - started) / rounds
    history = []
    for r in range(rounds):
        scores = {t: float(c[r]) if r < len(c) else math.nan for t, c in curves.items()}
        row = {"epoch": r + 1, "seconds": seconds, "train_loss": math.nan}
        row |= {
            f"val_{score_name(k)}_{t}": v
            for (t, v), k in zip(scores.items(), types or ["binary"] * len(tasks), strict=True)
        }
        history.append(row | {"val_mean_auc": sum(scores.values()) / len(scores)})
    return models, best, history
