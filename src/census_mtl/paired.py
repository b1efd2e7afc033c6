"""Paired comparisons of two models scored on the same rows: DeLong's test of AUC, a paired
test of MSE, Holm's correction.

Marginal intervals (one bootstrap per model) cannot separate two models whose errors are
correlated row by row; DeLong's test (DeLong, DeLong and Clarke-Pearson, 1988, in the fast form
of Sun and Xu, 2014) estimates the variance of the AUC *difference* from the same rows. Holm's
step-down procedure keeps the family-wise error rate of many comparisons at ``alpha``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm, rankdata


@dataclass(frozen=True)
class PairedAUC:
    """``auc_a - auc_b`` on the same rows, its 95 % interval and two-sided p-value."""

    auc_a: float
    auc_b: float
    difference: float
    low: float
    high: float
    p: float


def _components(labels: np.ndarray, scores: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """The AUC and DeLong's structural components of the positives and of the negatives."""
    positive = labels.astype(bool)
    m, n = positive.sum(), (~positive).sum()
    ranks = rankdata(scores)
    within_pos, within_neg = rankdata(scores[positive]), rankdata(scores[~positive])
    auc = (ranks[positive].sum() - m * (m + 1) / 2) / (m * n)
    return auc, (ranks[positive] - within_pos) / n, 1.0 - (ranks[~positive] - within_neg) / m


def delong(labels: np.ndarray, scores_a: np.ndarray, scores_b: np.ndarray) -> PairedAUC:
    """DeLong's paired test of the AUCs of two scorings of the same rows."""
    auc_a, pos_a, neg_a = _components(labels, scores_a)
    auc_b, pos_b, neg_b = _components(labels, scores_b)
    cov = np.cov([pos_a, pos_b]) / len(pos_a) + np.cov([neg_a, neg_b]) / len(neg_a)
    variance = max(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1], 0.0)
    difference, se = auc_a - auc_b, float(np.sqrt(variance))
    half = norm.ppf(0.975) * se
    p = 1.0 if se == 0 else float(2 * norm.sf(abs(difference) / se))
    return PairedAUC(auc_a, auc_b, difference, difference - half, difference + half, p)


@dataclass(frozen=True)
class PairedMSE:
    """``mse_a - mse_b`` on the same rows, its 95 % interval and two-sided p-value."""

    mse_a: float
    mse_b: float
    difference: float
    low: float
    high: float
    p: float


def paired_mse(labels: np.ndarray, values_a: np.ndarray, values_b: np.ndarray) -> PairedMSE:
    """Paired test of two regressions' MSE on the same rows: the rows' differences of squared
    errors are independent draws, so their mean has a normal interval (n in the thousands)."""
    errors_a, errors_b = (values_a - labels) ** 2, (values_b - labels) ** 2
    differences = errors_a - errors_b
    difference = float(differences.mean())
    se = float(differences.std(ddof=1) / np.sqrt(len(differences)))
    half = norm.ppf(0.975) * se
    p = 1.0 if se == 0 else float(2 * norm.sf(abs(difference) / se))
    return PairedMSE(
        float(errors_a.mean()),
        float(errors_b.mean()),
        difference,
        difference - half,
        difference + half,
        p,
    )


def holm(p_values: list[float]) -> list[float]:
    """Holm-adjusted p-values (step-down, monotone, capped at 1), in the input order."""
    order = np.argsort(p_values)
    adjusted, running = np.empty(len(p_values)), 0.0
    for rank, index in enumerate(order):
        running = max(running, (len(p_values) - rank) * p_values[index])
        adjusted[index] = min(running, 1.0)
    return adjusted.tolist()
