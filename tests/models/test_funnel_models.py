"""ESMM and AITM on a three-step funnel: entire-space products, the calibrator, no leak."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from census_mtl.config import ConfigError, validate
from census_mtl.config.project import Preprocess
from census_mtl.config.training import Loss
from census_mtl.features import feature_columns
from census_mtl.models import build_model, predict
from census_mtl.models.funnel import (
    entire_space_labels,
    entire_space_probs,
    in_space_logits,
    in_space_probs,
    product_logits,
)
from census_mtl.training.loss import MultiTaskLoss
from tests.models.test_networks import LAYOUT, PARAMS, compact_batch

STEPS = ["worked", "full_year", "high_income"]
SPACES = {"full_year": "worked", "high_income": "full_year"}
FUNNEL = {
    "worked": {"column": "weeks_worked", "at_least": 1},
    "full_year": {"column": "weeks_worked", "at_least": 52, "space": "worked"},
    "high_income": {"column": "income_50k", "positive": ["50000+."], "space": "full_year"},
}


def funnel_model(name: str, seed: int = 0, **overrides) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_model(name, LAYOUT, STEPS, {**PARAMS[name], **overrides}, spaces=SPACES).eval()


def test_esmm_ctcvr_is_the_product_of_the_towers():
    model, x = funnel_model("esmm"), compact_batch(32)
    towers = torch.stack([torch.sigmoid(model(x)[t]) for t in STEPS], 1)
    in_space = predict(model, x)
    torch.testing.assert_close(in_space, towers)  # each output: the step in its space (pCVR)
    entire = entire_space_probs(in_space, STEPS, SPACES)
    torch.testing.assert_close(entire[:, 1], towers[:, 0] * towers[:, 1])  # pCTCVR
    torch.testing.assert_close(entire[:, 2], towers.prod(1))


def test_esmm_loss_is_bce_of_the_products_over_every_row():
    model, x = funnel_model("esmm"), compact_batch(8)
    labels = torch.tensor(
        [[0, np.nan, np.nan], [1, 0, np.nan], [1, 1, 0], [1, 1, 1]] * 2, dtype=torch.float32
    )
    logits = model(x)
    _, parts = MultiTaskLoss.of(model, Loss())(logits, labels, torch.ones(8))
    p = torch.stack([torch.sigmoid(logits[t]) for t in STEPS], 1).cumprod(1)
    y = torch.tensor([[0, 0, 0], [1, 0, 0], [1, 1, 0], [1, 1, 1]] * 2, dtype=torch.float32)
    for j, task in enumerate(STEPS):
        torch.testing.assert_close(parts[task], F.binary_cross_entropy(p[:, j], y[:, j]))


def test_aitm_calibrator_is_zero_when_probabilities_fall_along_the_funnel():
    model = funnel_model("aitm", calibrator_weight=0.6)
    loss = MultiTaskLoss.of(model, Loss())
    falling = {
        "worked": torch.tensor([2.0, 0.0]),
        "full_year": torch.tensor([1.0, -1.0]),
        "high_income": torch.tensor([-3.0, -1.5]),
    }
    assert loss.calibration(falling) == 0
    rising = {**falling, "high_income": torch.tensor([1.5, -1.5])}
    expected = (torch.sigmoid(torch.tensor(1.5)) - torch.sigmoid(torch.tensor(1.0))) / 2
    torch.testing.assert_close(loss.calibration(rising), expected)
    labels = torch.tensor([[1.0, 1.0, 1.0], [0.0, np.nan, np.nan]])
    total, parts = loss(rising, labels, torch.ones(2))
    torch.testing.assert_close(total, sum(parts.values()) + 0.6 * expected)


def test_aitm_outputs_in_space_probabilities_from_its_entire_space_steps():
    model, x = funnel_model("aitm"), compact_batch(16)
    entire = torch.stack([torch.sigmoid(model(x)[t]) for t in STEPS], 1)
    torch.testing.assert_close(predict(model, x), in_space_probs(entire, STEPS, SPACES))


@pytest.mark.parametrize("name", ["esmm", "aitm"])
def test_no_later_step_reaches_an_earlier_step(name):
    """Information flows forward only: changing a later step's weights or labels leaves every
    earlier step's output as it was (the leak that gave peers an AUC of 1.0)."""
    model, x = funnel_model(name), compact_batch(16)
    before = model(x)
    with torch.no_grad():
        for param in model.towers.parameters():
            param[2:].add_(1.0)  # the last step's own tower only
    after = model(x)
    for task in STEPS[:2]:
        assert torch.equal(before[task], after[task])
    assert not torch.equal(before[STEPS[2]], after[STEPS[2]])


def test_the_funnel_columns_are_not_features():
    tasks = validate(Preprocess, {"tasks": FUNNEL}, "preprocess").tasks
    columns = feature_columns(tasks, [])
    assert "weeks_worked" not in columns and "income_50k" not in columns


def test_entire_space_labels_are_zero_after_a_failed_step():
    labels = np.array([[0, np.nan, np.nan], [1, 0, np.nan], [1, 1, np.nan], [1, 1, 1]])
    entire = entire_space_labels(labels, STEPS, SPACES)
    np.testing.assert_array_equal(entire[:3, 1:], [[0, 0], [0, 0], [1, np.nan]])
    np.testing.assert_array_equal(entire[3], [1, 1, 1])


@pytest.mark.parametrize(
    ("tasks", "message"),
    [
        ({"full_year": FUNNEL["full_year"], "worked": FUNNEL["worked"]}, "declared before it"),
        ({"worked": {**FUNNEL["worked"], "space": "worked"}}, "declared before it"),
        ({"worked": {"column": "weeks_worked", "positive": [1]}}, "not values of"),
        ({"w": {"column": "age", "at_least": 1, "positive": [3]}}, "at_least takes a numeric"),
    ],
)
def test_bad_funnels_fail_naming_the_task(tasks, message):
    with pytest.raises(ConfigError, match=message):
        validate(Preprocess, {"tasks": tasks}, "preprocess")


def test_conversion_models_take_binary_tasks_only():
    with pytest.raises(ConfigError, match="esmm models funnels of binary tasks"):
        build_model("esmm", LAYOUT, ["a", "b"], PARAMS["esmm"], ["binary", "regression"])


@pytest.mark.parametrize("name", ["esmm", "aitm"])
def test_a_funnel_ensemble_predicts_its_members_mixture(name):
    model = funnel_model(name, batch_ensemble=3)
    x = compact_batch(8)
    model.train()
    members = model(x)  # every member's rows, member-major
    _, parts = MultiTaskLoss.of(model, Loss())(members, torch.ones(8, 3), torch.ones(8))
    assert all(torch.isfinite(v) for v in parts.values())  # each member's products meet labels
    stacked = torch.stack([torch.sigmoid(members[t]) for t in STEPS], 1).view(3, 8, 3)
    in_space = name == "esmm"  # ESMM's outputs are in their spaces, AITM's over all rows
    mixture = (stacked.cumprod(2) if in_space else stacked).mean(0)  # members' entire-space mean
    model.eval()
    outputs = torch.stack([torch.sigmoid(model(x)[t]) for t in STEPS], 1)
    entire = entire_space_probs(outputs, STEPS, SPACES) if in_space else outputs
    torch.testing.assert_close(entire, mixture)


def test_in_space_logits_invert_the_products():
    logits = dict(zip(STEPS, torch.randn(3, 64) * 3, strict=True))
    back = in_space_logits(product_logits(logits, SPACES), SPACES)
    for task in STEPS:
        torch.testing.assert_close(back[task], logits[task], rtol=1e-4, atol=1e-4)
