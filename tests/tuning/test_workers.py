"""Tuning with several worker processes on one study: SQLite, a journal file and PostgreSQL.

Three workers start together on a new storage (its creation must not race); one is killed in
the middle of its first trial. The study must end with exactly ``n_trials`` finished trials,
no configuration evaluated twice, and the killed trial failed and run again by the others.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import warnings
from contextlib import nullcontext
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from census_mtl.config import validate
from census_mtl.config.tuning import Tuning
from census_mtl.tuning import optuna_api, workers
from census_mtl.tuning.journal import BEAT
from census_mtl.tuning.study import TrialSeededSampler, make_storage, trial_seed
from census_mtl.tuning.workers import FINISHED, TrialSkipped, admit, run_study

WORKER = Path(__file__).with_name("worker.py")
N_TRIALS = 24


def _settings(storage: str) -> dict:
    return {
        "n_trials": N_TRIALS,
        "storage": storage,
        "pruner": {"type": "none"},
        "heartbeat_interval": 1,
        "grace_period": 3,
        "retries": 1,
    }


def _start(settings_file: Path, out: Path, *flags: str) -> subprocess.Popen:
    command = [sys.executable, str(WORKER), str(settings_file), str(out), *flags]
    return subprocess.Popen(command, stderr=subprocess.PIPE, text=True)


def _run_workers(storage: str, tmp_path: Path) -> optuna.Study:
    settings_file = tmp_path / "tuning.json"
    settings_file.write_text(json.dumps(_settings(storage)))
    hanging = _start(settings_file, tmp_path, "--hang")
    workers = [_start(settings_file, tmp_path) for _ in range(2)]
    deadline = time.monotonic() + 60
    while not (tmp_path / "hung").exists():
        assert time.monotonic() < deadline and hanging.poll() is None, hanging.stderr.read()
        time.sleep(0.05)
    os.kill(hanging.pid, signal.SIGKILL)
    hanging.wait()
    for worker in workers:
        _, err = worker.communicate(timeout=180)
        assert worker.returncode == 0, err[-3000:]
    return optuna.load_study(
        study_name="workers", storage=make_storage(validate(Tuning, _settings(storage), "tuning"))
    )


def _check_totals(study: optuna.Study, killed: int) -> None:
    trials = study.get_trials(deepcopy=False)
    finished = [t for t in trials if t.state in FINISHED]
    assert len(finished) == N_TRIALS  # the exact total, across workers
    assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    configurations = [tuple(sorted(t.params.items())) for t in finished]
    assert len(set(configurations)) == len(configurations)  # nothing evaluated twice
    assert trials[killed].state == TrialState.FAIL
    retried = [t for t in finished if t.system_attrs.get("failed_trial") == killed]
    assert len(retried) == 1 and retried[0].params == trials[killed].params
    assert len({t.user_attrs["host"] for t in finished}) == 2  # both survivors worked


STORAGES = {
    "sqlite": lambda tmp, _: f"sqlite:///{tmp}/new.db",
    "journal": lambda tmp, _: f"journal:{tmp}/new.log",
    "postgresql": lambda _, request: request.getfixturevalue("postgres_url"),
}


@pytest.mark.parametrize("backend", list(STORAGES))
def test_three_workers_one_killed(backend, tmp_path, request):
    study = _run_workers(STORAGES[backend](tmp_path, request), tmp_path)
    _check_totals(study, killed=int((tmp_path / "hung").read_text()))
    skipped = [t.user_attrs["skipped"] for t in study.trials if "skipped" in t.user_attrs]
    assert all(s.startswith(("duplicate of trial", "the study already")) for s in skipped)


def test_each_trial_draws_with_its_own_seed():
    seeds = {trial_seed(0, n) for n in range(1000)}
    assert len(seeds) == 1000 and trial_seed(0, 5) == trial_seed(0, 5) != trial_seed(1, 5)


def test_one_worker_alone_is_reproducible(tmp_path):
    def draws(path: str) -> list[dict]:
        study = optuna.create_study(storage=f"sqlite:///{path}", sampler=TrialSeededSampler(3))
        study.optimize(lambda t: t.suggest_float("x", 0, 1) ** 2, n_trials=15)
        return [t.params for t in study.trials]

    assert draws(f"{tmp_path}/a.db") == draws(f"{tmp_path}/b.db")


DIST = {"x": optuna.distributions.IntDistribution(0, 3)}


def _fresh(study: optuna.Study, x: int) -> optuna.Trial:
    """A new running trial that drew ``x`` (as ``ask`` makes one when no trial waits)."""
    trial = optuna.Trial(
        study,
        optuna_api.storage_of(study).create_new_trial(
            optuna_api.storage_of(study).get_study_id_from_name(study.study_name)
        ),
    )
    trial.suggest_int("x", x, x)
    return trial


def _skipped(trial: optuna.Trial, n_trials: int) -> str:
    with pytest.raises(TrialSkipped) as skip:
        admit(trial, n_trials)
    trial.study.tell(trial, state=TrialState.FAIL)
    return str(skip.value)


QUEUE = {
    "retry": lambda study: study.add_trial(  # as RetryHeartbeatStaleTrialCallback queues
        optuna.create_trial(state=TrialState.WAITING, params={"x": 1}, distributions=DIST)
    ),
    "user": lambda study: study.enqueue_trial({"x": 1}),
}


@pytest.mark.parametrize("queue", list(QUEUE))
def test_a_waiting_trial_holds_its_configuration_and_its_place(queue, tmp_path):
    study = optuna.create_study(storage=f"sqlite:///{tmp_path}/s.db")
    study.add_trial(optuna.create_trial(params={"x": 0}, distributions=DIST, value=0.0))
    QUEUE[queue](study)  # trial 1
    assert _skipped(_fresh(study, 1), n_trials=5) == "duplicate of trial 1"
    assert _skipped(_fresh(study, 2), n_trials=2) == "the study already holds or runs 2 trials"
    retry = study.ask()  # taken after the fresh trials started, yet numbered before them
    assert retry.number == 1 and retry.suggest_int("x", 0, 3) == 1
    admit(retry, n_trials=2)


def test_the_first_heartbeat_is_sent_before_the_trial_starts(tmp_path, monkeypatch):
    """A worker killed at once must leave a trial that goes stale, not one running for ever;
    Optuna's own first beat comes from a thread that may not have run yet."""
    monkeypatch.setattr(workers, "get_heartbeat_thread", lambda *_: nullcontext())
    settings = validate(Tuning, _settings(f"journal:{tmp_path}/j.log"), "tuning")
    study = optuna.create_study(storage=make_storage(settings))
    beats = []

    def evaluate(trial: optuna.Trial, _) -> float:
        beats.append(BEAT in trial.storage.get_trial(optuna_api.trial_id(trial)).system_attrs)
        return 0.0

    run_study(study, lambda t: t.suggest_int("x", 0, 3), evaluate, 2, None)
    assert beats == [True, True]


@pytest.mark.parametrize("backend", ["sqlite", "journal"])
def test_a_trial_failed_as_stale_while_it_ran_is_dropped_not_fatal(backend, tmp_path, caplog):
    """A worker too slow to beat (a loaded machine) may have its running trial failed as stale
    by another; it must drop that result and go on, not crash telling a failed trial."""
    settings = validate(Tuning, _settings(STORAGES[backend](tmp_path, None)), "tuning")
    study = optuna.create_study(storage=make_storage(settings))

    def evaluate(trial: optuna.Trial, x: float) -> float:
        if trial.number in (0, 1):  # what another worker's fail_stale_trials does
            trial.storage.set_trial_state_values(optuna_api.trial_id(trial), TrialState.FAIL)
        trial.storage.record_heartbeat(optuna_api.trial_id(trial))  # a late beat: no error either
        if trial.number == 1:  # a write to the failed trial (a report, a user attribute)
            trial.set_user_attr("host", "worker-1")
        return x

    ran = run_study(study, lambda t: t.suggest_float("x", 0, 1), evaluate, 2, None)  # no twins
    assert ran == [2, 3] and study.trials[0].state == TrialState.FAIL
    assert "Trial 0 was failed as stale by another worker" in caplog.text
    assert "Trial 1 was failed as stale by another worker" in caplog.text


def test_an_evaluation_error_still_ends_the_worker(tmp_path):
    settings = validate(Tuning, _settings(f"journal:{tmp_path}/j.log"), "tuning")
    study = optuna.create_study(storage=make_storage(settings))

    def evaluate(trial: optuna.Trial, _) -> float:
        raise ValueError("the evaluation's own error")

    with pytest.raises(ValueError, match="the evaluation's own error"):
        run_study(study, lambda t: t.suggest_int("x", 0, 3), evaluate, 2, None)


@pytest.mark.parametrize("backend", ["sqlite", "journal"])
def test_a_heartbeat_study_runs_without_optuna_warnings(backend, tmp_path):
    """Heartbeats are experimental in Optuna, and it warns when a trial of a heartbeat storage
    is asked outside Study.optimize; the worker runs Optuna's heartbeat thread itself, and
    optuna is pinned, so those warnings would only be noise in every tuning run."""
    settings = validate(Tuning, _settings(STORAGES[backend](tmp_path, None)), "tuning")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        study = optuna.create_study(storage=make_storage(settings))
        run_study(study, lambda t: t.suggest_int("x", 0, 3), lambda *_: 0.0, 2, None)
    assert [f"{w.category.__name__}: {w.message}" for w in caught] == []
