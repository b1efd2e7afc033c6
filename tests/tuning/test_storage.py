"""The documented PostgreSQL URL with the installed driver, and a database that restarts
under a running study (issue 33, on a real PostgreSQL server)."""

from __future__ import annotations

import threading

import optuna
import pytest

from census_mtl.config import validate
from census_mtl.config.tuning import Tuning
from census_mtl.tuning.study import make_storage, open_study
from census_mtl.tuning.workers import FINISHED, Patience, StorageLostError, run_study


def _settings(url: str, **extra) -> Tuning:
    spec = {"n_trials": 4, "storage": url, "heartbeat_interval": 1, "grace_period": 3} | extra
    return validate(Tuning, spec, "tuning", {"tasks": ["income"]})


def _draw(trial: optuna.Trial) -> float:
    return trial.suggest_float("x", 0, 1)


def test_the_plain_postgresql_url_uses_psycopg_3(postgres_url):
    assert postgres_url.startswith("postgresql://")
    storage = make_storage(_settings(postgres_url))
    assert storage.engine.dialect.driver == "psycopg"
    study = optuna.create_study(study_name="plain-url", storage=storage)
    study.optimize(lambda t: _draw(t), n_trials=2)
    assert len(study.trials) == 2


def test_a_database_restart_is_waited_out(postgres_server, caplog):
    settings = _settings(postgres_server.url, storage_patience=60)
    study = open_study("restart", settings, ["income"])
    restarted = threading.Event()

    def evaluate(trial: optuna.Trial, x: float) -> float:
        if not restarted.is_set():  # the database goes away for 3 s under the first trial
            restarted.set()
            postgres_server.stop()
            threading.Timer(3.0, postgres_server.start).start()
        return x

    patience = Patience(settings.storage_patience, "restart-db")
    run_study(study, _draw, evaluate, settings.n_trials, None, poll=0.2, patience=patience)
    finished = [t for t in study.get_trials(deepcopy=False) if t.state in FINISHED]
    assert len(finished) == settings.n_trials
    assert "Tuning database restart-db unreachable" in caplog.text


def test_a_database_gone_for_longer_than_the_patience_is_one_error(postgres_server):
    study = open_study("gone", _settings(postgres_server.url), ["income"])
    postgres_server.stop()
    try:
        with pytest.raises(StorageLostError) as caught:
            run_study(study, _draw, lambda t, x: x, 4, None, patience=Patience(2, "gone-db"))
    finally:
        postgres_server.start()
    message = str(caught.value)
    assert message.startswith("tuning database gone-db unreachable for over 2 s")
    assert len(message.splitlines()) == 1 and "rerun to go on" in message
