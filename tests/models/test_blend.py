"""The blend's mixing and its choice of weights, against hand computations."""

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from census_mtl.models.blend import choose_weights, mix, weight_grid
from census_mtl.models.checks import ArtifactError, check_blend_weights


def test_the_grid_runs_from_zero_to_one_by_the_step():
    assert weight_grid(0.25).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert weight_grid(0.3).tolist() == [0.0, 0.3, 0.6, 0.9, 1.0]
    assert len(weight_grid(0.05)) == 21


def test_mix_weights_each_task_on_its_own():
    gbdt, network = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    assert mix(gbdt, network, torch.tensor([0.25, 0.5])).tolist() == [[0.25, 0.5]]


def test_each_task_takes_the_weight_that_scores_best():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, (400, 2)).astype(float)
    noise = rng.normal(size=(400, 2))
    gbdt = np.column_stack([y[:, 0], noise[:, 1]])  # perfect on task 0, noise on task 1
    network = np.column_stack([noise[:, 0], y[:, 1] + 0.01 * noise[:, 1]])
    weights, scores = choose_weights(y, gbdt, network, ["binary", "binary"], 0.5)
    assert weights[0] >= 0.5 and weights[1] == 0.0
    assert scores[1][0] == pytest.approx(roc_auc_score(y[:, 1], network[:, 1]))


def test_two_views_mixed_beat_either_alone_and_unlabelled_rows_are_left_out():
    rng = np.random.default_rng(1)
    signal = rng.normal(size=2000)
    y = (signal + rng.normal(size=2000) > 0).astype(float)[:, None]
    a = (signal + rng.normal(size=2000))[:, None]
    b = (signal + rng.normal(size=2000))[:, None]
    y[:10] = np.nan
    (weight,), (scores,) = choose_weights(y, a, b, ["binary"], 0.1)
    assert 0.0 < weight < 1.0 and max(scores) > max(scores[0], scores[-1])
    assert scores[0] == pytest.approx(roc_auc_score(y[10:, 0], b[10:, 0]))


def test_a_regression_task_is_chosen_by_r2():
    y = np.linspace(0, 1, 50)[:, None]
    weights, _ = choose_weights(y, y + 0.5, y.copy(), ["regression"], 0.5)
    assert weights == [0.0]


@pytest.mark.parametrize(
    "weights, match",
    [
        ({"income": 0.5}, "the tasks are"),
        ({"income": 0.5, "marital": 1.5}, "not numbers in"),
        ({"income": 0.5, "marital": "0.5"}, "not numbers in"),
        ({"income": float("nan"), "marital": 0.5}, "not numbers in"),
    ],
)
def test_bad_blend_weights_are_refused(weights, match):
    with pytest.raises(ArtifactError, match=match):
        check_blend_weights(weights, ["income", "marital"])
