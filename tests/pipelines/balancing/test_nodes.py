"""The balancing study on small synthetic task pairs: the grid, its resume, its report."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pandas as pd
import pytest
import yaml

from census_mtl.config import ConfigError
from census_mtl.pipelines.balancing import nodes
from census_mtl.training import grid
from census_mtl.training.checkpoints import Checkpoints

with open("conf/base/parameters_relatedness.yml") as f:
    RELATEDNESS = yaml.safe_load(f)["relatedness"]
with open("conf/base/parameters_compare.yml") as f:
    COMPARE = yaml.safe_load(f)["compare"]
RELATEDNESS["data"] |= {"train_rows": 300, "validation_rows": 100, "test_rows": 120, "dim": 8}
RELATEDNESS["training"] |= {"max_epochs": 2, "batch_size": 64}
STUDY = {
    "methods": ["equal", "dwa", "upgrad"],
    "networks": ["ple", "share_bottom"],
    "seeds": [1, 2],
    "correlations": [-0.5],
    "bootstrap_samples": 200,
}
DEFAULTS = {"device": "cpu", "num_threads": 1}


class Killed(Exception):
    """The process dies here (the kill of a real run)."""


RUN_INFO = {"date": "2026-12-06", "commit": "abc1234", "environment": "test"}


def _study(folder, study=STUDY):
    data = nodes.relatedness_settings(RELATEDNESS, study)
    jobs = nodes.relatedness_jobs(RELATEDNESS, study, DEFAULTS)
    return nodes.train_study(data, jobs, Checkpoints(folder), study)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    return _study(tmp_path_factory.mktemp("runs"))


def test_every_method_network_and_seed_is_trained_once(study):
    results, predictions = study
    table = results["relatedness_-0.50"]
    assert len(table) == (2 * 3 + 1) * 2
    assert table.groupby(["network", "method"]).size().to_dict() == {
        **{(n, m): 2 for n in ("ple", "share_bottom") for m in STUDY["methods"]},
        ("single_task", "equal"): 2,
    }
    shared = table[table["network"] != "single_task"]
    assert shared["grad_cos_task1__task2"].between(-1, 1).all()
    assert table.loc[table["network"] == "single_task", "grad_cos_task1__task2"].isna().all()
    frame = predictions["relatedness_-0.50"]
    assert len(frame) == 120 and {"y__task1", "p_task2__ple__upgrad__seed2"} <= set(frame)


def test_each_training_uses_its_own_method(study):
    jobs = nodes.relatedness_jobs(RELATEDNESS, STUDY, DEFAULTS)
    assert {(j.network, j.method, j.training.balancing.method) for j in jobs} >= {
        ("ple", "dwa", "dwa"),
        ("share_bottom", "upgrad", "upgrad"),
        ("single_task", "equal", "equal"),
    }


def test_every_method_trains_on_the_same_kind_of_step():
    """``compile: auto`` would compile ``equal`` alone; an explicit choice is kept."""
    jobs = nodes.relatedness_jobs(RELATEDNESS, STUDY, DEFAULTS)
    assert {job.training.compile for job in jobs} == {False}
    jobs = nodes.relatedness_jobs(RELATEDNESS, STUDY, DEFAULTS | {"compile": True})
    assert {job.training.compile for job in jobs} == {True}


def test_a_study_killed_midway_resumes_to_the_same_results(study, tmp_path, monkeypatch):
    """The fifth training is killed; the rerun keeps the four before it and trains the rest."""
    calls, killed, fit = [], [], grid.fit

    def dies_at_the_fifth(*args, **kwargs):
        calls.append(1)
        if len(calls) == 5 and not killed:
            killed.append(1)
            raise Killed
        return fit(*args, **kwargs)

    monkeypatch.setattr(grid, "fit", dies_at_the_fifth)
    with pytest.raises(Killed):
        _study(tmp_path)
    calls.clear()
    results, predictions = _study(tmp_path)
    assert len(calls) == 14 - 4
    pd.testing.assert_frame_equal(predictions["relatedness_-0.50"], study[1]["relatedness_-0.50"])
    columns = ["network", "method", "seed", "best_epoch", "grad_cos_task1__task2"]
    pd.testing.assert_frame_equal(
        results["relatedness_-0.50"][columns], study[0]["relatedness_-0.50"][columns]
    )


def _loaders(tables: dict) -> dict:
    """A partitioned dataset's load: a loader per partition."""
    return {k: (lambda v=v: v) for k, v in tables.items()}


def test_the_report_compares_each_method_with_equal_and_single_task(study):
    settings = nodes.relatedness_settings(RELATEDNESS, STUDY)
    tables = nodes.tabulate_study(settings, *map(_loaders, study), STUDY, COMPARE)
    assert all(set(t) == {"relatedness_-0.50"} for t in tables)
    scores, gains, verdicts, metrics, figure, page = nodes.report_study(
        *map(_loaders, tables), STUDY, RUN_INFO
    )
    assert set(gains["model"]) == {
        f"{n}/{m}" for n in ("ple", "share_bottom") for m in STUDY["methods"]
    }
    assert (gains["low"] <= gains["delta_m"]).all() and (gains["delta_m"] <= gains["high"]).all()
    pairs = set(verdicts["a"] + " vs " + verdicts["b"])
    assert {
        "ple/dwa vs ple/equal",
        "ple/equal vs share_bottom/equal",
        "share_bottom/equal vs single_task/equal",
    } <= pairs
    assert len(verdicts) == (2 * 2 + 1 + 2 * 3) * 2 and verdicts["metric"].eq("mse").all()
    assert set(scores["model"]) == set(gains["model"]) | {"single_task/equal"}
    assert set(metrics["relatedness_-0.50"]["ple/upgrad"]) == {"delta_m", "task1", "task2"}
    assert "### relatedness_-0.50" in page and "beyond the noise" in page
    assert "under equal against single-task" in page and len(figure.axes) == 1
    assert "ple/equal against share_bottom/equal:" in page
    cells = {line.split(" | ")[0].strip("| "): line.split(" | ") for line in page.splitlines()}
    for model in ("ple/dwa", "ple/equal"):
        assert cells[model][-2] == _marks(verdicts, model, "ple/equal")
        assert cells[model][-1].strip(" |") == _marks(verdicts, model, "single_task/equal")
    assert cells["ple/equal"][-2] == ""


def _marks(verdicts: pd.DataFrame, a: str, b: str) -> str:
    """The table's marks of ``a`` against ``b`` per task (MSE: lower is better)."""
    rows = verdicts[(verdicts["a"] == a) & (verdicts["b"] == b)].itertuples()
    return " ".join("=" if not r.significant else "▲" if r.difference < 0 else "▼" for r in rows)


def test_bad_study_settings_fail_naming_the_key():
    with pytest.raises(ConfigError, match=r"balancing_study\.methods"):
        nodes.relatedness_settings(RELATEDNESS, STUDY | {"methods": ["dwa", "upgrad"]})
    with pytest.raises(ConfigError, match=r"balancing_study\.methods\.1"):
        nodes.relatedness_settings(RELATEDNESS, STUDY | {"methods": ["equal", "nosuch"]})
    with pytest.raises(ConfigError, match=r"balancing_study\.networks"):
        nodes.relatedness_settings(RELATEDNESS, STUDY | {"networks": ["esmm"]})


def test_a_finished_training_is_reused_only_for_the_data_it_saw(tmp_path, monkeypatch):
    calls, fit = [], grid.fit
    monkeypatch.setattr(grid, "fit", lambda *a, **k: calls.append(1) or fit(*a, **k))
    data = nodes.relatedness_settings(RELATEDNESS, STUDY)[0]
    job = nodes.relatedness_jobs(RELATEDNESS, STUDY, DEFAULTS)[0]
    first = grid.train_job(job, data, tmp_path, data.digest())
    again = grid.train_job(job, data, tmp_path, data.digest())
    assert len(calls) == 1 and (first["outputs"] == again["outputs"]).all()
    other = dataclasses.replace(
        data, test=grid.TensorData(data.test.x + 1, data.test.y, data.test.w)
    )
    grid.train_job(job, other, tmp_path, other.digest())
    assert len(calls) == 2 and other.digest() != data.digest()


def test_labels_survive_trainings_in_worker_processes(tmp_path):
    """Sending the data to workers moves its tensors to shared memory: the labels written
    beside the outputs must be the test labels still (the data deep-copied, as Kedro hands
    it from node to node)."""
    data = copy.deepcopy(nodes.relatedness_settings(RELATEDNESS, STUDY)[0])
    jobs = nodes.relatedness_jobs(RELATEDNESS, STUDY, DEFAULTS)[-2:]  # single-task, 2 seeds
    results, predictions = grid.run_grid(jobs, data, tmp_path, workers=2)
    expected = data.test.y.numpy()
    np.testing.assert_array_equal(predictions[["y__task1", "y__task2"]].to_numpy(), expected)
    assert results["seed"].tolist() == [1, 2]
