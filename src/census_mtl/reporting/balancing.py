"""The balancing study's tables: each method against ``equal`` on the same network and every
training against single-task, on the same test rows (DeLong's test of AUC, the paired test of
MSE, Holm-corrected within each setting); the multi-task gain Δm over single-task with a
bootstrap interval; and the tasks' gradient conflict from the trainings' own records.

Δm (Maninis et al., CVPR 2019, as LibMTL reports it) is the mean over the T tasks of each task's
relative change against single-task, signed so that better is positive:
``Δm = 100 / T * sum_t (-1)^l_t (M_t - M_t^STL) / M_t^STL``, ``l_t = 1`` where lower is better
(MSE), 0 for AUC. Scores are of the seed-mean predictions, as the paired tests use them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from itertools import combinations

import numpy as np
import pandas as pd

from census_mtl.metrics import bootstrap_auc, bootstrap_mse, labelled
from census_mtl.reporting.comparisons import SCORES, paired_rows, seed_columns

REFERENCE, BASELINE = "equal", "single_task/equal"
METRIC = {"binary": "auc", "regression": "mse"}
SIGN = {"auc": 1.0, "mse": -1.0}  # better is higher AUC, lower MSE
BOOTSTRAP = {"auc": bootstrap_auc, "mse": bootstrap_mse}


def task_types(results: pd.DataFrame) -> dict[str, str]:
    """Each task's type, as the study's trainings recorded it."""
    return json.loads(results["task_types"].iloc[0])


def model_frames(predictions: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Each ``network/method``'s seeds as ``paired_rows`` reads them (``p_<task>_seed<s>``)."""
    frames: dict[str, dict] = {}
    for column in predictions.columns:
        if column.startswith("p_"):
            head, network, method, seed = column.split("__")
            frames.setdefault(f"{network}/{method}", {})[f"{head}_{seed}"] = predictions[column]
    return {name: pd.DataFrame(columns) for name, columns in frames.items()}


def seed_scores(
    frames: Mapping[str, pd.DataFrame], labels: pd.DataFrame, types: Mapping[str, str]
) -> pd.DataFrame:
    """Test score of every training: ``model, task, metric, mean, std, seeds``."""
    rows = []
    for name, frame in frames.items():
        for task, kind in types.items():
            y, metric = labels[f"y__{task}"].to_numpy(np.float64), METRIC[kind]
            values = [SCORES[metric](*labelled(y, v)) for v in seed_columns(frame, task).values()]
            rows.append(
                {
                    "model": name,
                    "task": task,
                    "metric": metric,
                    "mean": float(np.mean(values)),
                    "std": float(np.std(values, ddof=1)) if len(values) > 1 else float("nan"),
                    "seeds": len(values),
                }
            )
    return pd.DataFrame(rows)


def delta_m(
    frames: Mapping[str, pd.DataFrame],
    labels: pd.DataFrame,
    types: Mapping[str, str],
    samples: int,
    seed: int = 0,
) -> pd.DataFrame:
    """Δm of every model over single-task (in %), with its 95 % bootstrap interval: every
    model's score on the same resampled test rows."""
    point, drawn = {}, {}
    for task, kind in types.items():
        y, metric = labels[f"y__{task}"].to_numpy(np.float64), METRIC[kind]
        for name, frame in frames.items():
            y_task, mean = labelled(y, np.mean(list(seed_columns(frame, task).values()), 0))
            point[name, task] = SCORES[metric](y_task, mean)
            drawn[name, task] = BOOTSTRAP[metric](y_task, mean, samples, seed)
    rows = []
    for name in frames:
        if name == BASELINE:
            continue
        signs = [SIGN[METRIC[k]] for k in types.values()]
        gains = [
            [
                s * (score[name, t] - score[BASELINE, t]) / score[BASELINE, t]
                for s, t in zip(signs, types, strict=True)
            ]
            for score in (point, drawn)
        ]
        low, high = np.percentile(100 * np.mean(gains[1], axis=0), [2.5, 97.5])
        rows.append(
            {"model": name, "delta_m": 100 * float(np.mean(gains[0])), "low": low, "high": high}
        )
    return pd.DataFrame(rows)


def study_pairs(frames: Mapping[str, pd.DataFrame]) -> list[tuple[str, str]]:
    """Each method against ``equal`` on its network, the networks against each other under
    ``equal``, then every model against single-task."""
    models = [m for m in frames if m != BASELINE]
    equal = [m for m in models if m.endswith(f"/{REFERENCE}")]
    against_equal = [(m, f"{m.split('/')[0]}/{REFERENCE}") for m in models if m not in equal]
    return against_equal + list(combinations(equal, 2)) + [(m, BASELINE) for m in models]


def conflict(results: pd.DataFrame) -> pd.DataFrame:
    """Per model: the mean over epochs, task pairs and seeds of the tasks' gradient cosine on
    the shared parameters, and the mean seconds and epochs of a training."""
    cosines = results.filter(like="grad_cos_")
    table = results.assign(
        model=results["network"] + "/" + results["method"],
        grad_cos=cosines.mean(axis=1) if len(cosines.columns) else np.nan,
    )
    return (
        table.groupby("model", sort=False)[["grad_cos", "train_seconds", "epochs"]]
        .mean()
        .reset_index()
    )


def setting_tables(
    results: pd.DataFrame, predictions: pd.DataFrame, samples: int, alpha: float
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One setting's seed scores, its models' Δm (with conflict and cost) and paired rows."""
    types, frames = task_types(results), model_frames(predictions)
    labels = predictions.filter(like="y__")
    scores = seed_scores(frames, labels, types)
    gains = delta_m(frames, labels, types, samples).merge(conflict(results), on="model", how="left")
    paired = paired_rows(frames, labels, types, study_pairs(frames), alpha)
    return scores, gains, paired
