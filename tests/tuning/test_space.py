import optuna
import pytest

from census_mtl.tuning.space import SearchSpaceError, check_space, deep_merge, sample

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
        ({"a": {"type": "uniform", "low": 0, "high": 1}}, "a: unknown type 'uniform'"),
        ({"a": {"type": "int", "low": 5, "high": 1}}, "a: low=5 and high=1"),
        ({"a": {"type": "float", "low": 0.0, "high": 1.0, "log": True}}, "log scale needs low > 0"),
        ({"a": {"type": "int", "low": 0}}, "needs low and high"),
        ({"a": {"type": "int", "low": 0, "high": 2, "steps": 1}}, r"unknown keys \['steps'\]"),
        ({"a": {"type": "categorical", "choices": []}}, "non-empty choices"),
        ({"a": {"type": "categorical", "choices": [[16], [32]]}}, "numbers, strings"),
        (
            {"a": {"repeat": {"type": "float", "low": 1, "high": 2}, "each": {}}},
            "a.repeat: must be an int",
        ),
        ({"a": [{"b": {"type": "int"}}]}, "a.0.b: a int needs low and high"),
    ],
)
def test_bad_specs_name_their_path(space, message):
    with pytest.raises(SearchSpaceError, match=message):
        check_space(space)


def test_deep_merge():
    assert deep_merge({"a": {"b": 1, "c": 2}, "d": [1]}, {"a": {"b": 5}, "d": [2]}) == {
        "a": {"b": 5, "c": 2},
        "d": [2],
    }
