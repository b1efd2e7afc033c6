import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from census_mtl.paired import delong, holm


def scored_rows(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < 0.3).astype(int)
    a = labels + rng.normal(0, 1, n)
    b = 0.8 * labels + rng.normal(0, 1, n) + 0.3 * (a - labels)  # correlated with a
    return labels, a, b


def test_delong_matches_a_brute_force_paired_bootstrap():
    labels, a, b = scored_rows(300, 0)
    test = delong(labels, a, b)
    assert test.auc_a == pytest.approx(roc_auc_score(labels, a))
    assert test.auc_b == pytest.approx(roc_auc_score(labels, b))
    rng = np.random.default_rng(1)
    draws = [rng.integers(0, len(labels), len(labels)) for _ in range(3000)]
    boot = [roc_auc_score(labels[i], a[i]) - roc_auc_score(labels[i], b[i]) for i in draws]
    se = (test.high - test.low) / (2 * 1.959964)
    assert se == pytest.approx(np.std(boot), rel=0.1)
    low, high = np.percentile(boot, [2.5, 97.5])
    assert test.low == pytest.approx(low, abs=0.01) and test.high == pytest.approx(high, abs=0.01)


def test_delong_of_identical_scores_finds_nothing_and_of_a_clear_gap_finds_it():
    labels, a, _ = scored_rows(500, 2)
    same = delong(labels, a, a.copy())
    assert same.difference == 0 and same.p == 1.0
    noise = np.random.default_rng(3).normal(0, 3, len(a))
    clear = delong(labels, a, a + noise)
    assert clear.difference > 0 and clear.p < 1e-6 and clear.low > 0


def test_holm_adjustment():
    assert holm([0.01, 0.04, 0.03, 0.5]) == pytest.approx([0.04, 0.09, 0.09, 0.5])
    assert holm([0.9, 0.9]) == [1.0, 1.0]
