"""Balancing inside training: every method trains, resumes exactly after a kill, records its
weights and the tasks' gradient conflict, and a bad method fails before training."""

import optuna
import pytest

from census_mtl.config import ConfigError, SearchSpace, Training, validate
from census_mtl.tuning.space import sample

from ..training.test_loop import _scores, interrupted_then_resumed, run

METHODS = ["uncertainty", "gradnorm", "dwa", "upgrad", "mgda", "pcgrad", "cagrad", "nash_mtl"]


@pytest.mark.parametrize("method", ["uncertainty", "gradnorm", "dwa", "upgrad"])
def test_resumes_exactly_after_a_kill(tmp_path, monkeypatch, method):
    settings = {"balancing": {"method": method}, "ema_decay": 0.9}
    _, whole = run(**settings)
    resumed = interrupted_then_resumed(tmp_path, monkeypatch, **settings)
    assert _scores(resumed) == _scores(whole)


@pytest.mark.parametrize("method", METHODS)
def test_every_method_trains_and_records_its_weights(method):
    _, result = run(balancing={"method": method}, max_epochs=3)
    last = result.history[-1]
    assert last["val_auc_a"] > 0.7 and last["val_auc_b"] > 0.7
    assert {"weight_a", "weight_b", "loss_ratio_a", "grad_cos_a__b"} <= last.keys()
    assert -1.0 <= last["grad_cos_a__b"] <= 1.0 and result.history[0]["loss_ratio_a"] == 1.0


def test_equal_trains_as_before_and_weighs_every_task_one():
    (_, plain), (_, equal) = run(), run(balancing={"method": "equal"})
    assert _scores(plain) == _scores(equal)
    assert {row["weight_a"] for row in equal.history} == {1.0}


def test_a_method_that_does_not_exist_names_the_key_and_the_choices():
    with pytest.raises(ConfigError) as error:
        validate(Training, {"balancing": {"method": "nosuch"}}, "training_defaults")
    message = str(error.value)
    assert "training_defaults.balancing.method" in message
    assert "upgrad" in message and "gradnorm" in message


def test_optuna_samples_the_method_as_any_other_training_setting():
    space = {"balancing": {"method": {"type": "categorical", "choices": ["equal", "upgrad"]}}}
    validate(SearchSpace, {"training": space}, "tuning_spaces.ple")
    drawn = sample(optuna.trial.FixedTrial({"balancing.method": "upgrad"}), space)
    assert validate(Training, drawn, "training").balancing.method == "upgrad"


def test_aggregation_trains_through_the_category_sum_kernel():
    """Above 128 rows the first layer's gradient is the C++ kernel, which TorchJD must not
    vmap: the Jacobian is taken one task at a time."""
    _, result = run(balancing={"method": "upgrad"}, batch_size=256, max_epochs=2)
    assert result.history[-1]["val_auc_a"] > 0.6
