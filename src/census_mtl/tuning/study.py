"""Optuna studies: storage, sampler and pruner from settings, and the trial objective."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import optuna
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.study import MaxTrialsCallback
from optuna.trial import TrialState

from census_mtl.config.tuning import Pruner, Tuning

logger = logging.getLogger(__name__)


def make_storage(url: str) -> str | JournalStorage:
    """A SQLAlchemy URL (``sqlite:///…``, ``postgresql://…``) or ``journal:<file>``."""
    if url.startswith("journal:"):
        path = Path(url.removeprefix("journal:"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(path)))
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return url


def make_pruner(spec: Pruner) -> optuna.pruners.BasePruner:
    """The Optuna pruner of ``tuning.pruner``; its other keys are the pruner's arguments."""
    options = spec.model_dump(exclude={"type"})
    if spec.type == "median":
        return optuna.pruners.MedianPruner(**options)
    if spec.type == "hyperband":
        return optuna.pruners.HyperbandPruner(**options)
    if spec.type == "threshold":
        return optuna.pruners.ThresholdPruner(**options)
    return optuna.pruners.NopPruner()


def open_study(name: str, settings: Tuning, tasks: list[str]) -> optuna.Study:
    """Create the study, or load it when it exists (so an interrupted study goes on)."""
    multi = settings.objective == "multi"
    return optuna.create_study(
        study_name=name,
        storage=make_storage(settings.storage),
        sampler=optuna.samplers.TPESampler(seed=settings.seed),
        pruner=optuna.pruners.NopPruner() if multi else make_pruner(settings.pruner),
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
