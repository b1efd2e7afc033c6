"""Optuna studies that any number of workers share: storage, sampler and pruner.

Every trial draws with its own seed, derived from the study seed and the trial number, so no
two workers (and no rerun) replay one random stream. Running trials send heartbeats; one
silent for ``grace_period`` seconds (its worker died) is failed and queued to run again.
"""

from __future__ import annotations

import logging
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import sqlalchemy
import sqlalchemy.exc
from optuna.exceptions import StorageInternalError
from optuna.samplers import RandomSampler
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.trial import FrozenTrial

from census_mtl.config.tuning import Pruner, Tuning
from census_mtl.tuning.journal import HeartbeatJournalStorage
from census_mtl.tuning.workers import LOST_CONNECTION, is_duplicate, quiet_optuna

logger = logging.getLogger(__name__)


def trial_seed(seed: int, number: int) -> int:
    """The sampler seed of trial ``number`` of a study seeded with ``seed``."""
    return int(np.random.SeedSequence([seed, number]).generate_state(1)[0])


class TrialSeededSampler(optuna.samplers.BaseSampler):
    """TPE reseeded for every trial from the study seed and the trial number.

    Trial numbers are unique across all processes on a study, so each worker (and each rerun)
    draws from its own stream, while one process alone stays reproducible. ``constant_liar``
    makes TPE treat running trials as bad, steering concurrent workers apart. TPE ignores
    skipped trials, so after a draw that was already taken the next draw is a random one:
    otherwise TPE would keep proposing the best configuration found.
    """

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._explore = False
        self._sampler: optuna.samplers.BaseSampler = self._tpe(seed)

    @staticmethod
    def _tpe(seed: int) -> optuna.samplers.TPESampler:
        with quiet_optuna():  # constant_liar is experimental
            return optuna.samplers.TPESampler(seed=seed, constant_liar=True)

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        seed = trial_seed(self._seed, trial.number)
        self._sampler = RandomSampler(seed) if self._explore else self._tpe(seed)
        self._sampler.before_trial(study, trial)

    def infer_relative_search_space(self, study, trial):
        return self._sampler.infer_relative_search_space(study, trial)

    def sample_relative(self, study, trial, search_space):
        return self._sampler.sample_relative(study, trial, search_space)

    def sample_independent(self, study, trial, param_name, param_distribution):
        return self._sampler.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(self, study, trial, state, values) -> None:
        self._sampler.after_trial(study, trial, state, values)
        self._explore = is_duplicate(trial)


class PatientRDBStorage(RDBStorage):
    """``RDBStorage`` whose heartbeat thread outlives a database restart: a beat that cannot
    reach the database is skipped (the worker's own steps wait for it, ``Patience``)."""

    def record_heartbeat(self, trial_id: int) -> None:
        try:
            super().record_heartbeat(trial_id)
        except LOST_CONNECTION as exc:
            logger.warning("Heartbeat of trial id %d skipped: %s", trial_id, type(exc).__name__)


def database_name(url: str) -> str:
    """The storage URL without its password, to name the database in messages."""
    if url.startswith("journal:"):
        return url
    return sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)


def make_storage(settings: Tuning) -> optuna.storages.BaseStorage:
    """The study's storage with heartbeats: a SQLAlchemy URL or ``journal:<file>``."""
    url = settings.storage
    with quiet_optuna():  # heartbeats are experimental
        beat = {
            "heartbeat_interval": settings.heartbeat_interval,
            "grace_period": settings.grace_period,
            "heartbeat_stale_trial_callback": RetryHeartbeatStaleTrialCallback(settings.retries),
        }
        if url.startswith("journal:"):
            path = Path(url.removeprefix("journal:"))
            path.parent.mkdir(parents=True, exist_ok=True)
            return HeartbeatJournalStorage(path, **beat)
        engine: dict[str, Any] = {"pool_pre_ping": True}
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            engine["connect_args"] = {"timeout": 60}  # concurrent writers wait instead of failing
        return PatientRDBStorage(url, engine_kwargs=engine, **beat)


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


def open_study(name: str, settings: Tuning, tasks: list[str], attempts: int = 6) -> optuna.Study:
    """Create the study, or load it when it exists (an interrupted study goes on).

    Workers that start together on a new database race to create its tables and the study;
    the loser of such a race tries again after a short random wait and finds them made.
    """
    multi = settings.objective == "multi"

    def create() -> optuna.Study:
        return optuna.create_study(
            study_name=name,
            storage=make_storage(settings),
            sampler=TrialSeededSampler(settings.seed),
            pruner=optuna.pruners.NopPruner() if multi else make_pruner(settings.pruner),
            directions=["maximize"] * len(tasks) if multi else ["maximize"],
            load_if_exists=True,
        )

    for attempt in range(1, attempts):
        try:
            return create()
        except (sqlalchemy.exc.SQLAlchemyError, StorageInternalError) as exc:
            logger.info("Study %r: storage busy (%s); trying again.", name, type(exc).__name__)
            time.sleep(random.uniform(0.2, 1.0) * attempt)
    return create()  # the last attempt's error, if any, is the caller's
