"""Every Optuna internal the project relies on, in one place (written against Optuna 5.0).

Optuna has no public API for a trial's storage id, a study's storage, the line a study logs
for a finished trial, the heartbeat machinery that ``RDBStorage`` uses (which the journal
storage here implements too), or the journal file's lock context.
``tests/tuning/test_optuna_api.py`` checks each against the installed Optuna, so an upgrade
that changes one fails there, not in a distributed study.
"""

from __future__ import annotations

import optuna
from optuna.storages import BaseStorage
from optuna.storages._heartbeat import BaseHeartbeat, get_heartbeat_thread, is_heartbeat_enabled
from optuna.storages.journal._file import get_lock_file
from optuna.trial import FrozenTrial

__all__ = [
    "BaseHeartbeat",
    "get_heartbeat_thread",
    "get_lock_file",
    "is_heartbeat_enabled",
    "log_completed",
    "storage_of",
    "trial_id",
]


def trial_id(trial: optuna.Trial | FrozenTrial) -> int:
    """The trial's id in its storage (not its number within the study)."""
    return trial._trial_id


def storage_of(study: optuna.Study) -> BaseStorage:
    """The storage a study reads and writes."""
    return study._storage


def log_completed(study: optuna.Study, values: list[float], number: int, params: dict) -> None:
    """Optuna's own "Trial N finished with value ..." line, as ``Study.optimize`` logs it."""
    study._log_completed_trial(values, number, params)
