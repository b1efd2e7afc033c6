import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from census_mtl.metrics import (
    bootstrap_auc,
    labelled,
    pr_points,
    roc_points,
    task_metrics,
    validation_scores,
)
from census_mtl.paired import delong

RNG = np.random.default_rng(0)
LABELS = (RNG.random(3000) < 0.1).astype(int)
SCORES = np.round(RNG.random(3000) * 0.7 + LABELS * 0.4, 2)  # ties on purpose


def test_each_bootstrap_auc_equals_sklearn_on_its_resample():
    aucs = bootstrap_auc(LABELS, SCORES, samples=3, seed=7, chunk=3)
    draws = np.random.default_rng(7).integers(0, len(LABELS), (3, len(LABELS)))
    for auc, rows in zip(aucs, draws, strict=True):
        assert auc == pytest.approx(roc_auc_score(LABELS[rows], SCORES[rows]), abs=1e-12)


def test_bootstrap_is_seeded_and_chunking_does_not_matter():
    a = bootstrap_auc(LABELS, SCORES, samples=250, seed=1, chunk=100)
    b = bootstrap_auc(LABELS, SCORES, samples=250, seed=1, chunk=64)
    assert len(a) == 250 and np.array_equal(a, b)


def test_task_metrics():
    m = task_metrics(LABELS, SCORES, bootstrap_samples=200, seed=0)
    assert m["auc"] == pytest.approx(roc_auc_score(LABELS, SCORES))
    assert m["auc_ci_low"] < m["auc"] < m["auc_ci_high"]
    assert m["positive_rate"] == pytest.approx(LABELS.mean())
    assert 0 < m["pr_auc"] <= 1 and m["log_loss"] > 0


def test_curves_on_a_grid():
    grid = np.linspace(0, 1, 11)
    tpr = roc_points(LABELS, SCORES, grid)
    precision = pr_points(LABELS, SCORES, grid)
    assert tpr[0] >= 0 and tpr[-1] == 1 and np.all(np.diff(tpr) >= 0)
    assert np.all(np.diff(precision) <= 1e-12)  # interpolated precision never rises with recall
    assert precision[-1] == pytest.approx(LABELS.mean(), abs=0.02)


def test_metrics_and_paired_tests_use_the_labelled_rows_only():
    """Hand computation on 5 labelled rows of 8: AUC 5 of 6 positive-negative pairs ordered."""
    nan = np.nan
    labels = np.array([1, nan, 0, 1, nan, 0, 0, nan])
    probs = np.array([0.9, 0.99, 0.2, 0.3, 0.01, 0.1, 0.4, 0.5])
    # positives 0.9, 0.3; negatives 0.2, 0.1, 0.4: 0.9 beats all 3, 0.3 beats 2 -> 5/6
    metrics = task_metrics(labels, probs, bootstrap_samples=50, seed=0)
    assert metrics["auc"] == pytest.approx(5 / 6)
    assert metrics["rows"] == 5 and metrics["positive_rate"] == pytest.approx(0.4)
    assert metrics["auc_ci_low"] <= metrics["auc"] <= metrics["auc_ci_high"]
    test = delong(*labelled(labels, probs, probs[::-1].copy()))
    assert test.auc_a == pytest.approx(5 / 6)
    y, p = torch.tensor(labels[:, None]), torch.tensor(probs[:, None])
    scores = validation_scores(y, p, ["income"], ["binary"])
    assert scores["income"] == pytest.approx(5 / 6)
