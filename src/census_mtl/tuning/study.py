"""Optuna studies: storage, sampler and pruner from settings, and the trial objective."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.study import MaxTrialsCallback
from optuna.trial import TrialState

logger = logging.getLogger(__name__)

PRUNERS = ("median", "hyperband", "threshold", "none")
OBJECTIVES = "'mean_auc', a task name, or 'multi' (every task's AUC: a Pareto front)"


def make_storage(url: str) -> str | JournalStorage:
    """A SQLAlchemy URL (``sqlite:///…``, ``postgresql://…``) or ``journal:<file>``."""
    if url.startswith("journal:"):
        path = Path(url.removeprefix("journal:"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(path)))
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return url


def make_pruner(spec: Mapping[str, Any]) -> optuna.pruners.BasePruner:
    kind = spec.get("type", "median")
    options = {k: v for k, v in spec.items() if k != "type"}
    if kind == "median":
        return optuna.pruners.MedianPruner(**options)
    if kind == "hyperband":
        return optuna.pruners.HyperbandPruner(**options)
    if kind == "threshold":
        return optuna.pruners.ThresholdPruner(**options)
    if kind == "none":
        return optuna.pruners.NopPruner()
    raise ValueError(f"unknown pruner {kind!r}; allowed: {', '.join(PRUNERS)}.")


def open_study(name: str, settings: Mapping[str, Any], tasks: list[str]) -> optuna.Study:
    """Create the study, or load it when it exists (so an interrupted study goes on)."""
    objective = settings["objective"]
    if objective not in ("mean_auc", "multi", *tasks):
        raise ValueError(f"tuning.objective {objective!r}: use {OBJECTIVES}.")
    multi = objective == "multi"
    return optuna.create_study(
        study_name=name,
        storage=make_storage(settings["storage"]),
        sampler=optuna.samplers.TPESampler(seed=settings["seed"]),
        pruner=optuna.pruners.NopPruner() if multi else make_pruner(settings["pruner"]),
        directions=["maximize"] * len(tasks) if multi else ["maximize"],
        load_if_exists=True,
    )


def run_study(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], float | list[float]],
    n_trials: int | None,
    timeout: float | None,
) -> list[int]:
    """Run trials until the study holds ``n_trials`` finished ones, or ``timeout`` seconds pass.

    ``n_trials`` counts the whole study across processes and reruns, so an interrupted study
    runs only what is missing and several processes share one budget. Returns the numbers of
    the trials this call ran.
    """
    if n_trials is None and timeout is None:
        raise ValueError("tuning needs n_trials, timeout or both.")
    finished = (TrialState.COMPLETE, TrialState.PRUNED)
    done = len(study.get_trials(deepcopy=False, states=finished))
    if n_trials is not None and done >= n_trials:
        logger.info("Study %r already has %d finished trials.", study.study_name, done)
        return []
    ran: list[int] = []
    callbacks = [lambda _, trial: ran.append(trial.number)]
    if n_trials is not None:
        callbacks.append(MaxTrialsCallback(n_trials, states=finished))
    study.optimize(objective, timeout=timeout, callbacks=callbacks, gc_after_trial=True)
    return ran
