import numpy as np
import pytest

from census_mtl.data.relatedness import expected_label_correlation, generate_pair


@pytest.mark.parametrize("correlation", [-0.5, 0.0, 0.5, 0.9, 1.0])
def test_weights_have_the_requested_cosine_and_norm(correlation):
    pair = generate_pair(correlation, 10, dim=100, scale=2.0, seed=3)
    w1, w2 = pair.weights
    assert np.linalg.norm(w1) == pytest.approx(2.0) and np.linalg.norm(w2) == pytest.approx(2.0)
    assert w1 @ w2 / (np.linalg.norm(w1) * np.linalg.norm(w2)) == pytest.approx(correlation)


@pytest.mark.parametrize("correlation", [-0.5, 0.0, 0.5, 0.9, 1.0])
def test_label_correlation_matches_the_generator(correlation):
    pair = generate_pair(correlation, 40_000, seed=1)
    measured = np.corrcoef(pair.y.T)[0, 1]
    expected = expected_label_correlation(correlation, 1.0, pair.alphas, pair.betas, 0.01)
    assert measured == pytest.approx(expected, abs=0.02)  # 40k rows: standard error < 0.005


@pytest.mark.parametrize("correlation", [-0.5, 0.5, 0.9])
def test_without_sine_terms_the_labels_correlate_as_requested(correlation):
    pair = generate_pair(correlation, 40_000, terms=0, seed=2)
    assert np.corrcoef(pair.y.T)[0, 1] == pytest.approx(correlation, abs=0.02)


def test_seeded_and_shared_across_correlations():
    a, b = generate_pair(0.5, 100, seed=4), generate_pair(0.5, 100, seed=4)
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)
    other = generate_pair(0.9, 100, seed=4)  # only task 2 turns
    assert np.array_equal(a.x, other.x) and np.array_equal(a.y[:, 0], other.y[:, 0])
    assert not np.array_equal(a.y[:, 1], other.y[:, 1])
    assert not np.array_equal(a.x, generate_pair(0.5, 100, seed=5).x)


@pytest.mark.parametrize("correlation", [-1.5, 1.01])
def test_a_correlation_outside_minus_one_to_one_is_refused(correlation):
    with pytest.raises(ValueError, match="must lie in"):
        generate_pair(correlation, 10)
