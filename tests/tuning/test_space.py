import optuna
import pytest

from census_mtl.cli import load_parameters
from census_mtl.config import ConfigError, SearchSpace, merge_settings, validate
from census_mtl.models.registry import model_params
from census_mtl.tuning.space import sample
from tests.conftest import PROJECT

SPACE = {
    "model": {
        "levels": {
            "repeat": {"type": "int", "low": 1, "high": 3},
            "each": {
                "experts_per_task": {"type": "int", "low": 1, "high": 4},
                "expert_hidden_units": [{"type": "categorical", "choices": [32, 64]}],
            },
        },
        "gate_hidden_units": [{"type": "categorical", "choices": [0, 16]}],
        "dropout": {"type": "float", "low": 0.0, "high": 0.5},
        "tower_hidden_units": [8],
    },
    "training": {
        "optimizer": {
            "name": "adam",
            "learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
        }
    },
}


def test_fixed_trial_gives_parameters_in_model_shape():
    params = {
        "model.levels.repeat": 2,
        "model.levels.0.experts_per_task": 3,
        "model.levels.0.expert_hidden_units.0": 64,
        "model.levels.1.experts_per_task": 1,
        "model.levels.1.expert_hidden_units.0": 32,
        "model.gate_hidden_units.0": 0,
        "model.dropout": 0.25,
        "training.optimizer.learning_rate": 0.001,
    }
    drawn = sample(optuna.trial.FixedTrial(params), SPACE)
    assert drawn == {
        "model": {
            "levels": [
                {"experts_per_task": 3, "expert_hidden_units": [64]},
                {"experts_per_task": 1, "expert_hidden_units": [32]},
            ],
            "gate_hidden_units": [],  # a drawn 0 removes the layer: a linear gate
            "dropout": 0.25,
            "tower_hidden_units": [8],
        },
        "training": {"optimizer": {"name": "adam", "learning_rate": 0.001}},
    }


def test_a_study_samples_within_the_space():
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
    for _ in range(5):
        trial = study.ask()
        drawn = sample(trial, SPACE)
        assert 1 <= len(drawn["model"]["levels"]) <= 3
        assert 1e-4 <= drawn["training"]["optimizer"]["learning_rate"] <= 1e-2
        study.tell(trial, 0.5)


@pytest.mark.parametrize(
    ("space", "message"),
    [
        ({"a": {"type": "uniform", "low": 0, "high": 1}}, "model.a.type = 'uniform': Input should"),
        ({"a": {"type": "int", "low": 5, "high": 1}}, "model.a = .*low=5 must not exceed high=1"),
        ({"a": {"type": "float", "low": 0.0, "high": 1.0, "log": True}}, "log scale needs low > 0"),
        ({"a": {"type": "int", "low": 0}}, "model.a.high: missing"),
        ({"a": {"type": "int", "low": 0, "high": 2, "steps": 1}}, r"model.a.steps: unknown key"),
        ({"a": {"type": "categorical", "choices": []}}, "model.a.choices = \\[\\]: List should"),
        ({"a": {"type": "categorical", "choices": [[16], [32]]}}, r"model.a.choices.0 = \[16\]"),
        (
            {"a": {"repeat": {"type": "float", "low": 1, "high": 2}, "each": {}}},
            "model.a.repeat.type = 'float': Input should be 'int'",
        ),
        ({"a": [{"b": {"type": "int"}}]}, "model.a.0.b.low: missing"),
    ],
)
def test_bad_specs_name_their_path(space, message):
    with pytest.raises(ConfigError, match=message):
        validate(SearchSpace, {"model": space}, "")


def test_merge_settings_is_deep():
    assert merge_settings({"a": {"b": 1, "c": 2}, "d": [1]}, {"a": {"b": 5}, "d": [2]}) == {
        "a": {"b": 5, "c": 2},
        "d": [2],
    }


def test_the_gap_closing_settings_are_searchable():
    """TabM's member count and the piecewise-linear bins, drawn over base's PLE, are valid
    parameters (a space switches the embedding's kind by nulling the periodic keys)."""
    space = {
        "batch_ensemble": {"type": "categorical", "choices": [1, 4, 8]},
        "numeric_embedding": {
            "kind": "piecewise_linear",
            "frequencies": None,
            "sigma": None,
            "bins": {"type": "categorical", "choices": ["quantile", "tree"]},
            "n_bins": {"type": "int", "low": 8, "high": 64, "log": True},
        },
    }
    validate(SearchSpace, {"model": space}, "tuning_spaces.ple")
    base = load_parameters(PROJECT, "local", {})["ple"]["model"]
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
    for _ in range(4):
        drawn = sample(study.ask(), {"model": space})["model"]
        params = model_params("ple", merge_settings(base, drawn))
        assert params.batch_ensemble in {1, 4, 8}
        assert params.numeric_embedding.kind == "piecewise_linear"
        assert 8 <= params.numeric_embedding.n_bins <= 64
