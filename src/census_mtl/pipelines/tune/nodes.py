"""The tuning node: trials train on the training split and score on validation, never test."""

from __future__ import annotations

import logging
import os
import socket

import optuna
import pandas as pd
import plotly.graph_objects as go
import torch

from census_mtl.models import build_model
from census_mtl.training.data import training_inputs
from census_mtl.training.loop import TrainConfig, fit
from census_mtl.tuning.space import check_space, deep_merge, sample
from census_mtl.tuning.study import open_study, run_study

logger = logging.getLogger(__name__)


def _figure(plot, study: optuna.Study, **options) -> go.Figure:
    """An Optuna plot, or a figure that says why it cannot be drawn yet."""
    try:
        return plot(study, **options)
    except (ValueError, RuntimeError) as exc:
        figure = go.Figure()
        figure.add_annotation(text=f"{plot.__name__}: {exc}", showarrow=False)
        return figure


def tune_model(
    model_input_train: pd.DataFrame,
    model_input_validation: pd.DataFrame,
    feature_layout: dict,
    model: dict,
    training: dict,
    training_defaults: dict,
    tuning: dict,
    search_space: dict,
) -> tuple[dict, pd.DataFrame, go.Figure, go.Figure, go.Figure]:
    """Run (or resume) the model's study and return its best configuration, trials and plots.

    The best configuration has the shape of the model's parameters,
    ``{<name>: {model, training}}``, so it serves as-is as a ``conf/tuned`` override.
    """
    check_space(search_space)
    unknown = set(search_space) - {"model", "training"}
    if unknown:
        raise ValueError(f"search space: unknown sections {sorted(unknown)}; use model, training.")
    name = model.get("name", "")
    tasks, layout, train, validation = training_inputs(
        model_input_train, model_input_validation, feature_layout
    )
    objective_name = tuning["objective"]
    score_key = "val_mean_auc" if objective_name == "mean_auc" else f"val_auc_{objective_name}"
    study = open_study(f"{name}-{objective_name}", tuning, tasks)
    base_training = deep_merge(deep_merge(training_defaults, training), tuning["trial_training"])
    base_training.pop("seeds", None)

    def configuration(trial: optuna.Trial) -> dict:
        drawn = sample(trial, search_space)
        return {
            "model": deep_merge(model, drawn.get("model", {})),
            "training": drawn.get("training", {}),
        }

    def objective(trial: optuna.Trial) -> float | list[float]:
        trial.set_user_attr("host", f"{socket.gethostname()}:{os.getpid()}")
        config = configuration(trial)
        settings = deep_merge(base_training, config["training"])
        train_config = TrainConfig.from_params(
            {**settings, "checkpoint_dir": None, "resume": False}
        )
        params = {k: v for k, v in config["model"].items() if k != "name"}
        torch.manual_seed(train_config.seed)
        network = build_model(name, layout, tasks, params)

        def report(row: dict[str, float]) -> None:
            if objective_name == "multi":
                return
            trial.report(row[score_key], row["epoch"])
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned after epoch {row['epoch']}")

        result = fit(network, train, validation, train_config, on_epoch_end=report)
        best = result.history[result.best_epoch - 1]
        trial.set_user_attr("best_epoch", result.best_epoch)
        if objective_name == "multi":
            return [best[f"val_auc_{t}"] for t in tasks]
        return best[score_key]

    ran = run_study(study, objective, tuning.get("n_trials"), tuning.get("timeout"))
    logger.info("Study %r: this run finished trials %s.", study.study_name, ran)
    if not study.get_trials(deepcopy=False, states=[optuna.trial.TrialState.COMPLETE]):
        raise RuntimeError(
            f"study {study.study_name!r} has no completed trial (all pruned or failed): relax "
            "tuning.pruner or raise tuning.n_trials."
        )
    importance = optuna.importance.FanovaImportanceEvaluator(seed=tuning["seed"])
    if objective_name == "multi":
        front = study.best_trials
        best_trial = max(front, key=lambda t: sum(t.values))
        figures = [
            _figure(optuna.visualization.plot_pareto_front, study, target_names=tasks),
            _figure(
                optuna.visualization.plot_param_importances,
                study,
                evaluator=importance,
                target=lambda t: sum(t.values) / len(t.values),
                target_name="mean AUC",
            ),
            _figure(
                optuna.visualization.plot_parallel_coordinate,
                study,
                target=lambda t: sum(t.values) / len(t.values),
                target_name="mean AUC",
            ),
        ]
    else:
        best_trial = study.best_trial
        figures = [
            _figure(optuna.visualization.plot_optimization_history, study),
            _figure(optuna.visualization.plot_param_importances, study, evaluator=importance),
            _figure(optuna.visualization.plot_parallel_coordinate, study),
        ]
    best = configuration(optuna.trial.FixedTrial(best_trial.params))
    logger.info("Best trial %d: %s", best_trial.number, best_trial.values)
    return {name: best}, study.trials_dataframe(), *figures
