import json
import subprocess
import sys

import optuna
import plotly.graph_objects as go
import pytest

from census_mtl.config import ConfigError, validate
from census_mtl.config.tuning import Tuning
from census_mtl.pipelines.tune import nodes as tune_nodes
from census_mtl.pipelines.tune.nodes import importance_figure, tune_model
from census_mtl.tuning.study import make_storage
from tests.pipelines.train.test_nodes import DEFAULTS, train_model

MODEL = {
    "name": "cgc",
    "levels": [{"experts_per_task": 1, "shared_experts": 1, "expert_hidden_units": [8]}],
    "gate_hidden_units": [],
    "tower_hidden_units": [4],
}
SPACE = {
    "model": {
        "levels": [
            {
                "experts_per_task": {"type": "int", "low": 1, "high": 2},
                "shared_experts": {"type": "int", "low": 1, "high": 2},
                "expert_hidden_units": [{"type": "categorical", "choices": [4, 8]}],
            }
        ],
        "gate_hidden_units": [{"type": "categorical", "choices": [0, 4]}],
    },
    "training": {"batch_size": {"type": "categorical", "choices": [128, 256]}},
}


def settings(tmp_path, **overrides) -> dict:
    base = {
        "objective": "mean_auc",
        "n_trials": 3,
        "timeout": None,
        "seed": 0,
        "pruner": {"type": "none"},
        "storage": f"sqlite:///{tmp_path}/optuna.db",
        "trial_training": {"max_epochs": 2, "seeds": [0]},
    }
    return base | overrides


def tune(inputs, tuning, space=SPACE, tasks=None):
    return tune_model(*inputs, MODEL, {}, DEFAULTS, tuning, space, tasks)


def test_study_writes_best_parameters_trials_and_plots(inputs, tmp_path):
    best, trials, shares, *figures = tune(inputs, settings(tmp_path))
    assert set(best) == {"cgc"} and set(best["cgc"]) == {"model", "training"}
    assert best["cgc"]["model"]["name"] == "cgc"
    assert best["cgc"]["training"]["batch_size"] in (128, 256)
    assert len(trials) == 3 and set(trials["state"]) == {"COMPLETE"}
    assert all(isinstance(f, go.Figure) for f in figures)
    searched = {c.removeprefix("params_") for c in trials.columns if c.startswith("params_")}
    assert set(shares) == {"cgc-mean_auc"} == set(trials["study"])
    shares = shares["cgc-mean_auc"]
    assert set(shares) == searched and sum(shares.values()) == pytest.approx(1.0)
    assert list(shares.values()) == sorted(shares.values(), reverse=True)
    bars = importance_figure({"cgc-mean_auc": shares}).axes[0].patches
    assert sorted(bar.get_width() for bar in bars) == sorted(shares.values())
    # the best parameters train a model as they are
    _, history, summary = train_model(
        *inputs, best["cgc"]["model"], best["cgc"]["training"], DEFAULTS
    )
    assert summary["model"] == "cgc" and len(history) > 0


def test_pruning_stops_bad_trials(inputs, tmp_path):
    pruner = {"type": "threshold", "lower": 0.999}
    with pytest.raises(RuntimeError, match="no completed trial"):
        tune(inputs, settings(tmp_path, pruner=pruner, n_trials=2))
    study = optuna.load_study(study_name="cgc-mean_auc", storage=f"sqlite:///{tmp_path}/optuna.db")
    assert [t.state.name for t in study.trials] == ["PRUNED", "PRUNED"]
    assert all(len(t.intermediate_values) == 1 for t in study.trials)


def test_interrupted_study_resumes_without_losing_trials(inputs, tmp_path, monkeypatch):
    tune(inputs, settings(tmp_path, n_trials=2))
    real_fit = tune_nodes.fit

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(tune_nodes, "fit", interrupted)
    with pytest.raises(KeyboardInterrupt):
        tune(inputs, settings(tmp_path, n_trials=4))
    monkeypatch.setattr(tune_nodes, "fit", real_fit)
    _, trials, *_ = tune(inputs, settings(tmp_path, n_trials=4))
    assert list(trials["state"]) == ["COMPLETE", "COMPLETE", "FAIL", "COMPLETE", "COMPLETE"]


def test_multi_objective_returns_the_pareto_front(inputs, tmp_path):
    best, trials, shares, front, _ = tune(inputs, settings(tmp_path, objective="multi", n_trials=3))
    assert {"values_0", "values_1"} <= set(trials.columns)
    assert best["cgc"]["model"]["name"] == "cgc"
    assert any(trace.type == "scatter" for trace in front.data)
    assert sum(shares["cgc-multi"].values()) == pytest.approx(1.0)  # of the mean AUC


@pytest.mark.parametrize(
    ("tuning", "space", "message"),
    [
        ({"objective": "accuracy"}, SPACE, "tuning.objective = 'accuracy': objective"),
        ({"pruner": {"type": "asha"}}, SPACE, "tuning.pruner = .*'median', 'hyperband'"),
        ({"n_trials": None}, SPACE, "set n_trials, timeout or both"),
        ({}, {"modle": {}}, r"tuning_spaces.cgc.modle: unknown key \(did you mean 'model'\?\)"),
        (
            {},
            {"model": {"dropout": {"type": "float", "low": 0.5}}},
            "tuning_spaces.cgc.model.dropout.high: missing",
        ),
    ],
)
def test_bad_settings_are_explained(inputs, tmp_path, tuning, space, message):
    with pytest.raises(ConfigError, match=message):
        tune(inputs, settings(tmp_path, **tuning), space)


def test_a_regression_task_is_refused(inputs, tmp_path):
    train, validation, layout = inputs
    ages = [frame.assign(y__marital=40 + 20 * frame["num__age"]) for frame in (train, validation)]
    with pytest.raises(ConfigError, match=r"binary tasks only; \['marital'\] are regression"):
        tune((*ages, layout), settings(tmp_path), SPACE, {"marital": {"type": "regression"}})


SCRIPT = """
import json, sys
import pandas as pd
from census_mtl.pipelines.tune.nodes import tune_model
from tests.pipelines.tune.test_nodes import MODEL, SPACE
from tests.pipelines.train.test_nodes import DEFAULTS, train_model
folder = sys.argv[1]
inputs = [
    pd.read_parquet(f"{folder}/train.parquet"),
    pd.read_parquet(f"{folder}/validation.parquet"),
    json.load(open(f"{folder}/layout.json")),
]
tuning = json.load(open(f"{folder}/tuning.json"))
tune_model(*inputs, MODEL, {}, DEFAULTS, tuning, SPACE)
"""


def test_two_processes_share_one_study(inputs, tmp_path):
    train, validation, layout = inputs
    train.to_parquet(tmp_path / "train.parquet")
    validation.to_parquet(tmp_path / "validation.parquet")
    (tmp_path / "layout.json").write_text(json.dumps(layout))
    storage = f"journal:{tmp_path}/journal.log"
    (tmp_path / "tuning.json").write_text(
        json.dumps(settings(tmp_path, n_trials=6, storage=storage))
    )
    workers = [
        subprocess.Popen([sys.executable, "-c", SCRIPT, str(tmp_path)], stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err.decode()[-2000:]
    tuning = validate(Tuning, settings(tmp_path, n_trials=6, storage=storage), "tuning")
    study = optuna.load_study(study_name="cgc-mean_auc", storage=make_storage(tuning))
    complete = study.get_trials(states=[optuna.trial.TrialState.COMPLETE])
    assert len(complete) == 6  # the study's total, not each process's
    assert len({tuple(sorted(t.params.items())) for t in complete}) == 6
    hosts = {t.user_attrs["host"] for t in complete}
    assert len(hosts) == 2  # both processes ran trials of the same study


GBDT = {"name": "gbdt", "num_leaves": 7, "max_rounds": 40, "early_stopping_rounds": 5}
GBDT_SPACE = {
    "model": {
        "num_leaves": {"type": "int", "low": 3, "high": 15},
        "use_sample_weight": {"type": "categorical", "choices": [False, True]},
    }
}


def test_gbdt_is_tuned_like_the_networks(inputs, tmp_path):
    own = GBDT | {"tasks": {"income": {"num_leaves": 2}}}  # a mean-AUC study tunes the shared
    best, trials, *_ = tune_model(*inputs, own, {}, DEFAULTS, settings(tmp_path), GBDT_SPACE)
    assert set(best) == {"gbdt"} and 3 <= best["gbdt"]["model"]["num_leaves"] <= 15
    assert "tasks" not in best["gbdt"]["model"]
    assert len(trials) == 3 and set(trials["state"]) == {"COMPLETE"}
    assert trials["value"].between(0.5, 1).all()


def test_per_task_tunes_each_task_booster_on_its_own_task(inputs, tmp_path, monkeypatch):
    fitted = []
    fit = tune_nodes.fit_gbdt
    monkeypatch.setattr(
        tune_nodes, "fit_gbdt", lambda *a, only, **k: fitted.append(only) or fit(*a, only=only)
    )
    tuning = settings(tmp_path, objective="per_task", n_trials=2)
    best, trials, shares, _, coordinates = tune_model(
        *inputs, GBDT, {}, DEFAULTS, tuning, GBDT_SPACE
    )
    assert fitted == [["income"]] * 2 + [["marital"]] * 2  # one booster per trial
    own = best["gbdt"]["model"]["tasks"]
    assert set(own) == {"income", "marital"} and best["gbdt"]["model"]["num_leaves"] == 7
    for task in own:
        study = trials[trials["study"] == f"gbdt-{task}"]
        top = study.loc[study["value"].idxmax()]
        assert own[task]["num_leaves"] == top["params_model.num_leaves"]
        assert own[task]["use_sample_weight"] == top["params_model.use_sample_weight"]
    assert set(shares) == {"gbdt-income", "gbdt-marital"}
    assert sum(t.type == "parcoords" for t in coordinates.data) == 2
    assert len(importance_figure(shares).axes[0].patches) == 2 * 2
    _, _, summary = train_model(*inputs, best["gbdt"]["model"], {}, DEFAULTS)
    assert summary["model"] == "gbdt"


def test_per_task_is_for_the_gbdt_only(inputs, tmp_path):
    with pytest.raises(ConfigError, match="gbdt only"):
        tune(inputs, settings(tmp_path, objective="per_task"))
