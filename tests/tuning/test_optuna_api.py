"""The Optuna internals of census_mtl.tuning.optuna_api still exist and behave as used."""

from __future__ import annotations

import inspect
import logging

import optuna
import pytest

from census_mtl.tuning import optuna_api
from census_mtl.tuning.journal import HeartbeatJournalStorage
from census_mtl.tuning.workers import quiet_optuna


@pytest.fixture
def study() -> optuna.Study:
    return optuna.create_study(storage=optuna.storages.InMemoryStorage())


def test_trial_id_and_storage_name_the_trial_in_its_storage(study):
    trial = study.ask()
    stored = optuna_api.storage_of(study).get_trial(optuna_api.trial_id(trial))
    assert isinstance(optuna_api.storage_of(study), optuna.storages.BaseStorage)
    assert stored.number == trial.number
    study.tell(trial, 1.0)
    assert optuna_api.trial_id(study.trials[0]) == optuna_api.trial_id(trial)


def test_log_completed_writes_optunas_line(study, caplog):
    trial = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
    study.tell(trial, 0.5)
    optuna.logging.enable_propagation()
    try:
        with caplog.at_level(logging.INFO, logger="optuna"):
            optuna_api.log_completed(study, [0.5], trial.number, trial.params)
    finally:
        optuna.logging.disable_propagation()
    assert f"Trial {trial.number} finished with value: 0.5" in caplog.text


def test_heartbeat_machinery_has_the_shape_the_journal_storage_implements(tmp_path):
    assert sorted(optuna_api.BaseHeartbeat.__abstractmethods__) == [
        "_get_stale_trial_ids",
        "get_heartbeat_interval",
        "get_heartbeat_stale_trial_callback",
        "record_heartbeat",
    ]
    assert list(inspect.signature(optuna_api.get_heartbeat_thread).parameters) == [
        "trial_id",
        "storage",
    ]
    storage = HeartbeatJournalStorage(tmp_path / "journal.log", heartbeat_interval=1)
    assert optuna_api.is_heartbeat_enabled(storage)
    assert not optuna_api.is_heartbeat_enabled(optuna.storages.InMemoryStorage())
    study = optuna.create_study(storage=storage)
    with quiet_optuna():  # Optuna warns about heartbeats outside Study.optimize
        trial = study.ask()
    with optuna_api.get_heartbeat_thread(optuna_api.trial_id(trial), storage):
        storage.record_heartbeat(optuna_api.trial_id(trial))
    assert storage._get_stale_trial_ids(storage.get_study_id_from_name(study.study_name)) == []
