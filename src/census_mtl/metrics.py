"""Test-set metrics for one task at a time: AUC with a bootstrap interval, PR-AUC, log-loss for
a binary task; MSE with a bootstrap interval, R² and MAE for a regression task.

Each task is scored on its own labels and predictions, over the rows where its label is present
(``labelled``), and says how many rows that is; peers have shipped metrics computed over the
concatenated outputs of all tasks, which mixes label rates and inflates AUC.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from sklearn.metrics import (
    average_precision_score,
    log_loss,
    precision_recall_curve,
    r2_score,
    roc_auc_score,
)
from sklearn.metrics import roc_curve as sk_roc_curve


def labelled(labels: np.ndarray, *scores: np.ndarray) -> tuple[np.ndarray, ...]:
    """``labels`` and each of ``scores`` on the rows where the label is present (not NaN)."""
    keep = ~np.isnan(labels)
    return labels[keep], *(s[keep] for s in scores)


def bootstrap_auc(
    labels: np.ndarray, scores: np.ndarray, samples: int, seed: int, chunk: int = 100
) -> np.ndarray:
    """AUC of ``samples`` bootstrap resamples (rows drawn with replacement), vectorised.

    With rows sorted by score and ties grouped, each row has a key, its group, plus the number
    of groups if it is positive; one ``bincount`` of a chunk's drawn keys gives every resample's
    negative and positive counts ``N_g, P_g`` per group (contiguous rows), and its AUC is
    ``sum_g P_g * (2 * N_below_g + N_g) / (2 * P * N)``, which equals ``roc_auc_score`` on the
    resample.
    """
    order = np.argsort(scores, kind="stable")
    sorted_scores = scores[order]
    group = np.cumsum(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]]) - 1
    groups, n = int(group[-1]) + 1, len(scores)
    key = np.empty(n, np.int64)
    key[order] = group
    key += labels.astype(bool) * groups
    rng, aucs = np.random.default_rng(seed), []
    for size in [chunk] * (samples // chunk) + ([samples % chunk] if samples % chunk else []):
        keys = key[rng.integers(0, n, (size, n))] + 2 * groups * np.arange(size)[:, None]
        counts = np.bincount(keys.ravel(), minlength=2 * groups * size).reshape(size, 2, groups)
        neg, pos = counts[:, 0], counts[:, 1]
        doubled = np.cumsum(neg, axis=1)  # becomes 2 * N_below + N, in place (large arrays)
        doubled -= neg
        doubled *= 2
        doubled += neg
        pairs = np.einsum("ij,ij->i", pos, doubled) / 2
        with np.errstate(invalid="ignore", divide="ignore"):
            aucs.append(pairs / (pos.sum(1) * neg.sum(1)))
    return np.concatenate(aucs)


def bootstrap_mse(
    labels: np.ndarray, values: np.ndarray, samples: int, seed: int, chunk: int = 100
) -> np.ndarray:
    """MSE of ``samples`` bootstrap resamples, drawn as ``bootstrap_auc`` draws them: the same
    ``seed`` and row count give the same resampled rows, so the two pair across models."""
    squared = (values - labels) ** 2
    rng, n, means = np.random.default_rng(seed), len(squared), []
    for size in [chunk] * (samples // chunk) + ([samples % chunk] if samples % chunk else []):
        means.append(squared[rng.integers(0, n, (size, n))].mean(1))
    return np.concatenate(means)


def task_metrics(
    labels: np.ndarray, probs: np.ndarray, bootstrap_samples: int, seed: int
) -> dict[str, float]:
    """AUC with its 95 % bootstrap interval, PR-AUC, log-loss and rates, for one task, over its
    labelled rows (``rows``)."""
    labels, probs = labelled(labels, probs)
    aucs = bootstrap_auc(labels, probs, bootstrap_samples, seed)
    low, high = np.nanpercentile(aucs, [2.5, 97.5])
    return {
        "auc": float(roc_auc_score(labels, probs)),
        "auc_ci_low": float(low),
        "auc_ci_high": float(high),
        "pr_auc": float(average_precision_score(labels, probs)),
        "log_loss": float(log_loss(labels, np.clip(probs, 1e-7, 1 - 1e-7), labels=[0, 1])),
        "positive_rate": float(labels.mean()),
        "mean_prediction": float(probs.mean()),
        "rows": len(labels),
    }


def roc_points(labels: np.ndarray, probs: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """True-positive rate at each false-positive rate of ``grid`` (labelled rows)."""
    fpr, tpr, _ = sk_roc_curve(*labelled(labels, probs))
    return np.interp(grid, fpr, tpr)


def pr_points(labels: np.ndarray, probs: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Interpolated precision (best precision at this recall or more) at each recall of ``grid``."""
    precision, recall, _ = precision_recall_curve(*labelled(labels, probs))
    best = np.maximum.accumulate(precision)  # recall decreases along the arrays
    return np.interp(grid, recall[::-1], best[::-1])


def r2(labels: np.ndarray, values: np.ndarray) -> float:
    """Coefficient of determination: 1 - MSE / variance of the labels."""
    return float(r2_score(labels, values))


def regression_metrics(
    labels: np.ndarray, values: np.ndarray, bootstrap_samples: int, seed: int
) -> dict[str, float]:
    """MSE with its 95 % bootstrap interval, R², MAE and the means, for one regression task,
    over its labelled rows (``rows``)."""
    labels, values = labelled(labels, values)
    squared = (values - labels) ** 2
    rng = np.random.default_rng(seed)
    means = [
        squared[rng.integers(0, len(squared), len(squared))].mean()
        for _ in range(bootstrap_samples)
    ]
    low, high = np.percentile(means, [2.5, 97.5])
    return {
        "mse": float(squared.mean()),
        "mse_ci_low": float(low),
        "mse_ci_high": float(high),
        "r2": r2(labels, values),
        "mae": float(np.abs(values - labels).mean()),
        "mean_label": float(labels.mean()),
        "mean_prediction": float(values.mean()),
        "rows": len(labels),
    }


def validation_scores(
    labels: torch.Tensor, outputs: torch.Tensor, tasks: Sequence[str], types: Sequence[str]
) -> dict[str, float]:
    """Each task's validation score over its labelled rows, higher is better: ROC AUC of a
    binary task (on its own, never over the tasks' outputs concatenated), R² of a regression
    task."""
    score = {"binary": roc_auc_score, "regression": r2_score}
    y, out = labels.cpu().numpy(), outputs.numpy()
    return {
        task: float(score[kind](*labelled(y[:, i], out[:, i])))
        for i, (task, kind) in enumerate(zip(tasks, types, strict=True))
    }


def score_name(kind: str) -> str:
    """The validation score of a task type, as history columns name it: auc or r2."""
    return "auc" if kind == "binary" else "r2"
