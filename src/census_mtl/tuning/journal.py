"""A journal-file Optuna storage with heartbeats, as ``RDBStorage`` has them, that survives a
partial last line.

Optuna's ``JournalStorage`` has no heartbeat, so a trial whose worker was killed would stay
``RUNNING`` for ever. Here each running trial records the time of its last beat as a system
attribute, and any worker fails the trials that have been silent for ``grace_period``.
A write cut short (a kill, a full disk) leaves a last line without its newline; Optuna would
append the next line to it, and every later read would fail with ``JSONDecodeError``. Here
each append first drops such a tail, under the journal's lock.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend, JournalFileSymlinkLock
from optuna.trial import FrozenTrial, TrialState

from census_mtl.atomic import disk_full
from census_mtl.tuning.optuna_api import BaseHeartbeat, get_lock_file, trial_id

BEAT = "census_mtl:heartbeat"
logger = logging.getLogger(__name__)


class RepairingJournalFileBackend(JournalFileBackend):
    """Optuna's journal file, whose appends first cut a partial last line away."""

    def __init__(self, path: Path) -> None:
        self._path, self._journal_lock = path, JournalFileSymlinkLock(str(path))
        super().__init__(str(path), lock_obj=self._journal_lock)

    def _drop_partial_line(self) -> None:
        with open(self._path, "rb+") as f:
            size = f.seek(0, os.SEEK_END)
            if size == 0 or (f.seek(size - 1), f.read(1))[1] == b"\n":
                return
            f.seek(0)
            keep = f.read().rfind(b"\n") + 1
            f.truncate(keep)
        logger.warning("%s: dropped a partial last line (%d bytes).", self._path, size - keep)

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        text = "".join(json.dumps(log, separators=(",", ":")) + "\n" for log in logs)
        try:
            with get_lock_file(self._journal_lock):
                self._drop_partial_line()
                with open(self._path, "ab") as f:
                    f.write(text.encode("utf-8"))
                    f.flush()
                    os.fsync(f.fileno())
        except OSError as exc:
            if full := disk_full(exc, self._path):
                raise full from None
            raise


class HeartbeatJournalStorage(JournalStorage, BaseHeartbeat):
    """``JournalStorage`` on a file, whose running trials send heartbeats."""

    def __init__(
        self,
        path: Path,
        heartbeat_interval: int,
        grace_period: int | None = None,
        heartbeat_stale_trial_callback: Callable[[optuna.Study, FrozenTrial], None] | None = None,
    ) -> None:
        super().__init__(RepairingJournalFileBackend(path))
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
