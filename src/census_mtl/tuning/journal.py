"""A journal-file Optuna storage with heartbeats, as ``RDBStorage`` has them.

Optuna's ``JournalStorage`` has no heartbeat, so a trial whose worker was killed would stay
``RUNNING`` for ever. Here each running trial records the time of its last beat as a system
attribute, and any worker fails the trials that have been silent for ``grace_period``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import FrozenTrial, TrialState

from census_mtl.tuning.optuna_api import BaseHeartbeat, trial_id

BEAT = "census_mtl:heartbeat"


class HeartbeatJournalStorage(JournalStorage, BaseHeartbeat):
    """``JournalStorage`` on a file, whose running trials send heartbeats."""

    def __init__(
        self,
        path: Path,
        heartbeat_interval: int,
        grace_period: int | None = None,
        heartbeat_stale_trial_callback: Callable[[optuna.Study, FrozenTrial], None] | None = None,
    ) -> None:
        super().__init__(JournalFileBackend(str(path)))
        self._interval = heartbeat_interval
        self._grace = grace_period or 2 * heartbeat_interval
        self._on_stale = heartbeat_stale_trial_callback

    def record_heartbeat(self, trial_id: int) -> None:
        """Beat for a running trial; none for one already finished (another worker may have
        failed it as stale while this one was too slow to beat)."""
        with suppress(UpdateFinishedTrialError):
            self.set_trial_system_attr(trial_id, BEAT, time.time())

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        now = time.time()
        running = self.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,))
        return [
            trial_id(t)
            for t in running
            if BEAT in t.system_attrs and now - t.system_attrs[BEAT] > self._grace
        ]

    def get_heartbeat_interval(self) -> int | None:
        return self._interval

    def get_heartbeat_stale_trial_callback(
        self,
    ) -> Callable[[optuna.Study, FrozenTrial], None] | None:
        return self._on_stale
