"""The tuning node: trials train on the training split and score on validation, never test."""

from __future__ import annotations

import functools
import logging
import os
import socket
from collections.abc import Mapping

import matplotlib.pyplot as plt
import optuna
import pandas as pd
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from census_mtl.config import (
    ConfigError,
    GBDTParams,
    ModelParams,
    SearchSpace,
    Tuning,
    merge_settings,
    training_settings,
    validate,
)
from census_mtl.models import build_model
from census_mtl.models.registry import model_params
from census_mtl.training.data import ModelInput, training_inputs
from census_mtl.training.gbdt import fit_gbdt
from census_mtl.training.loop import NonFiniteWeightsError, fit, score_key
from census_mtl.tuning.space import sample
from census_mtl.tuning.study import database_name, open_study
from census_mtl.tuning.workers import Patience, run_study

logger = logging.getLogger(__name__)


class TrialObjective:
    """Train one drawn configuration on the training split; its validation AUC is the score."""

    def __init__(
        self, model: Mapping, training: Mapping, space: Mapping, tuning: Tuning, data: ModelInput
    ):
        self.model, self.training, self.space = model, training, space
        self.objective, self.data = tuning.objective, data
        # a GBDT study of one task tunes that task's own booster (model.tasks.<task>)
        gbdt = model.get("name") == "gbdt"
        self.own_task = self.objective if gbdt and self.objective in data.tasks else None
        if gbdt and self.own_task is None:  # one booster setting for every task
            self.model = {key: value for key, value in model.items() if key != "tasks"}

    def configuration(self, trial: optuna.Trial | optuna.trial.FixedTrial) -> dict:
        """The drawn ``{model, training}``; ``training`` holds only the drawn overrides."""
        drawn = sample(trial, self.space)
        model = drawn.get("model", {})
        if self.own_task is not None:
            model = {"tasks": {self.own_task: model}}
        return {"model": merge_settings(self.model, model), "training": drawn.get("training", {})}

    def _report(self, trial: optuna.Trial, row: dict[str, float]) -> None:
        if self.objective == "multi":
            return
        trial.report(row[score_key(self.objective)], row["epoch"])
        if trial.should_prune():
            raise optuna.TrialPruned(f"pruned after epoch {row['epoch']}")

    def _fit(self, trial: optuna.Trial, params: ModelParams, settings) -> dict[str, float]:
        """Train the trial's model once; its validation AUC per task at its best epoch."""
        data, tasks = self.data, self.data.tasks
        seed = settings.seeds[0]  # a trial trains once
        if isinstance(params, GBDTParams):  # boosting rounds: early stopping, no pruning
            fitted = [self.own_task] if self.own_task else tasks
            _, best, rows = fit_gbdt(
                params,
                settings,
                seed,
                tasks,
                data.layout,
                data.train,
                data.validation,
                data.types,
                only=fitted,
            )
            trial.set_user_attr("best_epoch", max(best.values()))
            return {t: rows[best[t] - 1][f"val_auc_{t}"] for t in fitted}
        torch.manual_seed(seed)
        network = build_model(params.name, data.layout, tasks, params, data.types, data.spaces)
        report = functools.partial(self._report, trial)
        try:
            result = fit(network, data.train, data.validation, settings, seed, on_epoch_end=report)
        except NonFiniteWeightsError as exc:  # a diverging configuration, not a broken worker
            raise optuna.TrialPruned(f"diverged: {exc}") from None
        trial.set_user_attr("best_epoch", result.best_epoch)
        best = result.history[result.best_epoch - 1]
        return {t: best[f"val_auc_{t}"] for t in tasks}

    def evaluate(self, trial: optuna.Trial, config: dict) -> float | list[float]:
        """Train the drawn ``config``; the trial's objective value(s)."""
        trial.set_user_attr("host", f"{socket.gethostname()}:{os.getpid()}")
        tasks = self.data.tasks
        settings = training_settings(self.training, config["training"], tasks=tasks)
        params = model_params(config["model"].get("name", ""), config["model"])
        aucs = self._fit(trial, params, settings)
        if self.objective == "multi":
            return [aucs[t] for t in tasks]
        return (
            sum(aucs.values()) / len(aucs) if self.objective == "mean_auc" else aucs[self.objective]
        )


def _figure(plot, study: optuna.Study, **options) -> go.Figure:
    """An Optuna plot, or a figure that says why it cannot be drawn yet."""
    try:
        return plot(study, **options)
    except (ValueError, RuntimeError) as exc:
        figure = go.Figure()
        figure.add_annotation(text=f"{plot.__name__}: {exc}", showarrow=False)
        return figure


def _mean_target(study: optuna.Study) -> dict:
    """Options that reduce a multi-objective study's values to their mean AUC."""
    if len(study.directions) == 1:
        return {}
    return {"target": lambda t: sum(t.values) / len(t.values), "target_name": "mean AUC"}


def _rows(figures: list[go.Figure], names: list[str]) -> go.Figure:
    """Each study's history in its own row, over the trial numbers."""
    together = make_subplots(rows=len(figures), cols=1, subplot_titles=names, shared_xaxes=True)
    for row, figure in enumerate(figures, start=1):
        for trace in figure.data:
            together.add_trace(trace.update(showlegend=row == 1), row=row, col=1)
    return together.update_layout(title="Optimization history", height=320 * len(figures))


def _coordinates(studies: list[optuna.Study]) -> go.Figure:
    """Each study's completed trials as parallel coordinates: objective and drawn values."""
    figure = go.Figure(
        layout={
            "title": "Parallel coordinates: " + ", ".join(study.study_name for study in studies)
        }
    )
    for i, study in enumerate(studies):
        trials = study.trials_dataframe().query("state == 'COMPLETE'")
        columns = [c for c in trials.columns if c.startswith("params_")]
        dimensions = [{"label": f"{study.study_name}: AUC", "values": trials["value"]}]
        dimensions += [
            {"label": c.removeprefix("params_"), "values": trials[c].astype(float)} for c in columns
        ]
        low = 1 - (i + 1) / len(studies)
        figure.add_trace(
            go.Parcoords(
                dimensions=dimensions,
                line={"color": trials["value"], "colorscale": "Blues"},
                domain={"y": [low + 0.1, low + 1 / len(studies) - 0.05]},
            )
        )
    return figure


def tuning_figures(studies: list[optuna.Study], tasks: list[str]) -> list[go.Figure]:
    """History (or Pareto front) and parallel coordinates; several studies (one per task)
    share each figure."""
    vis = optuna.visualization
    if len(studies) > 1:
        histories = [_figure(vis.plot_optimization_history, study) for study in studies]
        return [_rows(histories, [study.study_name for study in studies]), _coordinates(studies)]
    study = studies[0]
    first = (
        _figure(vis.plot_optimization_history, study)
        if len(study.directions) == 1
        else _figure(vis.plot_pareto_front, study, target_names=tasks)
    )
    return [first, _figure(vis.plot_parallel_coordinate, study, **_mean_target(study))]


def importances(study: optuna.Study, seed: int) -> dict[str, float]:
    """Each parameter's share of the variance of the objective (seeded fANOVA), largest first."""
    target = _mean_target(study).get("target")
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=seed)
    shares = optuna.importance.get_param_importances(study, evaluator=evaluator, target=target)
    return {name: float(share) for name, share in shares.items()}


def importance_figure(shares: dict[str, dict[str, float]]) -> plt.Figure:
    """A bar per searched parameter and study: its share of the study's objective variance."""
    names = list(dict.fromkeys(n for study in shares.values() for n in study))[::-1]
    height = 0.8 / len(shares)
    size = (6.4, 0.3 * len(names) + 1.2)
    figure, axes = plt.subplots(figsize=size, layout="constrained")
    for i, (study, share) in enumerate(shares.items()):
        offsets = [k + (i - (len(shares) - 1) / 2) * height for k in range(len(names))]
        axes.barh(offsets, [share.get(n, 0.0) for n in names], height=height, label=study)
    axes.set_yticks(range(len(names)), names)
    axes.set_xlabel("share of the validation objective's variance (fANOVA)")
    axes.set_title("Parameter importances")
    axes.legend(loc="lower right")
    return figure


def best_trial(study: optuna.Study) -> optuna.trial.FrozenTrial:
    """The best trial; on a Pareto front, the one with the best mean AUC."""
    completed = study.get_trials(deepcopy=False, states=[optuna.trial.TrialState.COMPLETE])
    if not completed:
        raise RuntimeError(
            f"study {study.study_name!r} has no completed trial (all pruned or failed): relax "
            "tuning.pruner or raise tuning.n_trials."
        )
    if len(study.directions) == 1:
        return study.best_trial
    return max(study.best_trials, key=lambda t: sum(t.values))


def _tune(
    name: str, objective: TrialObjective, settings: Tuning, tasks: list[str]
) -> tuple[optuna.Study, dict]:
    """Run (or resume) one study; it and its best configuration."""
    patience = Patience(settings.storage_patience, database_name(settings.storage))
    study = patience(lambda: open_study(f"{name}-{settings.objective}", settings, tasks))
    ran = run_study(
        study,
        objective.configuration,
        objective.evaluate,
        settings.n_trials,
        settings.timeout,
        patience=patience,
    )
    logger.info("Study %r: this run finished trials %s.", study.study_name, ran)
    best = best_trial(study)
    logger.info("Best trial %d: %s", best.number, best.values)
    return study, objective.configuration(optuna.trial.FixedTrial(best.params))


def _objectives(name: str, settings: Tuning, tasks: list[str]) -> list[Tuning]:
    """One study's settings per objective: ``per_task`` is one study per task (GBDT only)."""
    if settings.objective != "per_task":
        return [settings]
    if name != "gbdt":
        raise ConfigError(
            "tuning.objective = 'per_task' tunes each task's own booster, so gbdt only; a "
            "network shares its layers across tasks: use mean_auc, multi or a task"
        )
    return [settings.model_copy(update={"objective": task}) for task in tasks]


def tune_model(
    model_input_train: pd.DataFrame,
    model_input_validation: pd.DataFrame,
    feature_layout: dict,
    model: dict,
    training: dict,
    training_defaults: dict,
    tuning: dict,
    search_space: dict,
    task_settings: dict | None = None,
) -> tuple[dict, pd.DataFrame, dict[str, dict[str, float]], go.Figure, go.Figure]:
    """Run (or resume) the model's studies (one; ``per_task``: one per task): the best
    configuration, trials, parameter importances per study, and plots.

    The best configuration has the shape of the model's parameters,
    ``{<name>: {model, training}}``, so it serves as-is as a ``conf/tuned`` override.
    ``task_settings`` (``preprocess.tasks``) gives the task types: trials score validation AUC,
    so a regression task is refused.
    """
    name = model.get("name", "")
    data = training_inputs(model_input_train, model_input_validation, feature_layout, task_settings)
    regression = [t for t, kind in zip(data.tasks, data.types, strict=True) if kind == "regression"]
    if regression:
        raise ConfigError(
            f"tuning scores validation AUC and takes binary tasks only; {regression} are "
            "regression tasks (preprocess.tasks.<name>.type)"
        )
    settings = validate(Tuning, tuning, "tuning", {"tasks": data.tasks})
    validate(SearchSpace, search_space, f"tuning_spaces.{name}")
    trial_training = merge_settings(training_defaults, training, settings.trial_training)
    studies, configuration = [], {}
    for each in _objectives(name, settings, data.tasks):
        objective = TrialObjective(model, trial_training, search_space, each, data)
        study, best = _tune(name, objective, each, data.tasks)
        studies.append(study)
        configuration = merge_settings(configuration, best)
    trials = pd.concat(
        [s.trials_dataframe().assign(study=s.study_name) for s in studies], ignore_index=True
    )
    shares = {s.study_name: importances(s, settings.seed) for s in studies}
    history, coordinates = tuning_figures(studies, data.tasks)
    return {name: configuration}, trials, shares, history, coordinates
