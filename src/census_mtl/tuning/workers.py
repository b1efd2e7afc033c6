"""The trial loop of one worker among many on a shared study.

A worker draws a configuration, then evaluates it only if no other live or finished trial
holds the same one and the study still has room: ``n_trials`` is the exact number of
finished (complete or pruned) trials the study ends with, whatever the number of workers.
A trial that is not evaluated is marked failed with the reason in its ``skipped`` attribute.

Trials are admitted in the order of their numbers, which the storage hands out (no worker's
clock is trusted). A waiting trial (a killed trial queued to run again, or one a user queued)
holds its place and its configuration until a worker takes it.
"""

from __future__ import annotations

import gc
import logging
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import optuna
import sqlalchemy
from optuna.exceptions import ExperimentalWarning, StorageInternalError, UpdateFinishedTrialError
from optuna.trial import FrozenTrial, TrialState

from census_mtl.errors import ProjectError, first_line
from census_mtl.tuning.optuna_api import (
    get_heartbeat_thread,
    is_heartbeat_enabled,
    log_completed,
    storage_of,
    trial_id,
)

logger = logging.getLogger(__name__)

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
HELD = (TrialState.WAITING, TrialState.RUNNING, *FINISHED)  # states that hold a place
DUPLICATE = "duplicate of trial"
MAX_SKIPPED_IN_A_ROW = 20  # configurations already taken, drawn in a row: the space is spent


class TrialSkipped(Exception):
    """The trial is not evaluated: its configuration is taken, or the study is full."""


def _skip(trial: optuna.Trial, reason: str) -> None:
    logger.info("Trial %d skipped: %s.", trial.number, reason)
    trial.set_user_attr("skipped", reason)
    raise TrialSkipped(reason)


def is_duplicate(trial: FrozenTrial) -> bool:
    """Whether ``trial`` was skipped because another trial held its configuration."""
    return str(trial.user_attrs.get("skipped", "")).startswith(DUPLICATE)


def admit(trial: optuna.Trial, n_trials: int | None) -> None:
    """Skip ``trial`` if a waiting, running or finished trial holds its parameters, or if the
    finished trials and the unfinished ones numbered before it fill the study (one read)."""
    others = [
        t for t in trial.study.get_trials(deepcopy=False, states=HELD) if t.number != trial.number
    ]
    for other in others:
        if (other.params or other.system_attrs.get("fixed_params")) == trial.params:
            _skip(trial, f"{DUPLICATE} {other.number}")
    taken = sum(t.state in FINISHED or t.number < trial.number for t in others)
    if n_trials is not None and taken >= n_trials:
        _skip(trial, f"the study already holds or runs {n_trials} trials")


def _counts(study: optuna.Study) -> tuple[int, int]:
    trials = study.get_trials(deepcopy=False, states=(TrialState.RUNNING, *FINISHED))
    finished = sum(t.state in FINISHED for t in trials)
    return finished, len(trials) - finished


@contextmanager
def quiet_optuna() -> Iterator[None]:
    """Without Optuna's warnings about what the project uses on purpose (optuna is pinned):
    its experimental features (heartbeats, ``constant_liar``), and ``ask`` on a heartbeat
    storage outside ``Study.optimize`` (the worker runs Optuna's heartbeat thread itself)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        warnings.filterwarnings("ignore", "Heartbeat of storage is supposed to be used with")
        yield


def _fail_stale(study: optuna.Study) -> None:
    with quiet_optuna():
        optuna.storages.fail_stale_trials(study)


def _dropped(number: int) -> None:
    """Say that trial ``number`` was failed as stale by another worker while this one ran it."""
    logger.warning(
        "Trial %d was failed as stale by another worker while this one ran it (its "
        "heartbeats came later than grace_period): its result is dropped, its retry runs "
        "it again.",
        number,
    )


def _run_one(study, draw, evaluate, n_trials: int | None) -> int | None:
    """Run one trial: its number if it was evaluated, ``None`` if it was skipped, or if another
    worker failed it as stale while it ran (this worker's heartbeats came too late)."""
    _fail_stale(study)
    with quiet_optuna():
        trial = study.ask()
    storage = storage_of(study)
    with get_heartbeat_thread(trial_id(trial), storage):
        if is_heartbeat_enabled(storage):  # the thread's first beat may come late
            storage.record_heartbeat(trial_id(trial))  # a kill from here on goes stale
        try:
            configuration = draw(trial)
            admit(trial, n_trials)
        except TrialSkipped:
            study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
            return None
        try:
            value = evaluate(trial, configuration)
        except UpdateFinishedTrialError:  # it wrote to the trial after a peer failed it
            return _dropped(trial.number)
        except optuna.TrialPruned as pruned:
            logger.info("Trial %d pruned: %s", trial.number, pruned)
            value, state = None, TrialState.PRUNED
        except BaseException:  # the trial fails; the error ends the worker
            study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
            raise
        else:
            state = TrialState.COMPLETE
    told = study.tell(trial, value, state=state, skip_if_finished=True)
    gc.collect()
    if told.state != state:
        return _dropped(trial.number)
    if state == TrialState.COMPLETE:
        log_completed(study, told.values, trial.number, trial.params)
    return trial.number


# What a database that restarts or drops the connection raises through SQLAlchemy and Optuna.
LOST_CONNECTION = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    StorageInternalError,
)


class StorageLostError(ProjectError, ConnectionError):
    """The study's database stayed unreachable for longer than ``tuning.storage_patience``."""


class Patience:
    """Retries a step of the study while its database is unreachable: waits 0.5, 1, 2, ...
    (at most 10) seconds between tries, for ``seconds`` in all, then one error line."""

    def __init__(self, seconds: float, database: str) -> None:
        self.seconds, self.database = seconds, database

    def __call__(self, step: Callable[[], Any]) -> Any:
        delay, deadline = 0.5, time.monotonic() + self.seconds
        while True:
            try:
                return step()
            except LOST_CONNECTION as exc:
                if time.monotonic() + delay > deadline:
                    raise StorageLostError(
                        f"tuning database {self.database} unreachable for over "
                        f"{self.seconds:g} s (tuning.storage_patience): {first_line(exc)}; its "
                        "finished trials are kept, rerun to go on"
                    ) from None
                logger.warning(
                    "Tuning database %s unreachable (%s); trying again in %.1f s.",
                    self.database,
                    type(exc).__name__,
                    delay,
                )
                time.sleep(delay)
                delay = min(2 * delay, 10.0)


def run_study(
    study: optuna.Study,
    draw: Callable[[optuna.Trial], Any],
    evaluate: Callable[[optuna.Trial, Any], float | list[float]],
    n_trials: int | None,
    timeout: float | None,
    poll: float = 1.0,
    patience: Patience | None = None,
) -> list[int]:
    """Run trials until the study holds ``n_trials`` finished ones or ``timeout`` seconds pass.

    ``draw`` suggests a configuration; ``evaluate`` trains it. While other workers' running
    trials would fill the study, wait (their worker may die, and its trial run again). A lost
    database connection is retried as ``patience`` says (a trial it interrupted is failed as
    stale and run again). Returns the numbers of the trials this call evaluated.
    """
    patience = patience or Patience(0, "of the study")
    deadline = None if timeout is None else time.monotonic() + timeout
    ran: list[int] = []
    skipped_in_a_row = 0
    while deadline is None or time.monotonic() < deadline:
        finished, running = patience(lambda: _counts(study))
        if n_trials is not None and finished >= n_trials:
            break
        if n_trials is not None and finished + running >= n_trials:
            time.sleep(poll)
            patience(lambda: _fail_stale(study))
            continue
        number = patience(lambda: _run_one(study, draw, evaluate, n_trials))
        skipped_in_a_row = 0 if number is not None else skipped_in_a_row + 1
        ran += [] if number is None else [number]
        if skipped_in_a_row >= MAX_SKIPPED_IN_A_ROW:
            logger.warning(
                "Study %r: %d drawn configurations in a row were taken; the search space "
                "looks spent, stopping with %d finished trials.",
                study.study_name,
                skipped_in_a_row,
                finished,
            )
            break
    return ran
