import copy

import numpy as np
import pytest
import yaml

from census_mtl.paired import paired_mse
from census_mtl.pipelines.relatedness.nodes import (
    make_task_pairs,
    report_relatedness,
    train_networks,
)

with open("conf/base/parameters_relatedness.yml") as f:
    BASE = yaml.safe_load(f)["relatedness"]
SMALL = copy.deepcopy(BASE) | {"correlations": [0.0, 1.0], "seeds": [1, 2], "workers": 1}
SMALL["data"] |= {"train_rows": 400, "validation_rows": 100, "test_rows": 100, "dim": 8}
SMALL["training"] |= {"max_epochs": 2, "batch_size": 64}
DEFAULTS = {"device": "cpu", "num_threads": 1}
RUN_INFO = {"date": "2026-01-02", "commit": "abc1234", "environment": "test", "data": "synthetic"}


@pytest.fixture(scope="module")
def run():
    pairs = make_task_pairs(SMALL)
    results, predictions = train_networks(pairs, SMALL, DEFAULTS)
    return pairs, results, predictions


def test_pairs_split_per_correlation(run):
    pairs, _, _ = run
    assert pairs.groupby(["correlation", "split"]).size().to_dict() == {
        (c, s): n
        for c in (0.0, 1.0)
        for s, n in (("test", 100), ("train", 400), ("validation", 100))
    }
    assert [c for c in pairs.columns if c.startswith("x__")] == [f"x__{i}" for i in range(8)]


def test_every_network_correlation_and_seed_is_trained(run):
    _, results, predictions = run
    assert len(results) == 2 * 5 * 2 and set(results["model"]) == set(BASE["models"])
    assert (results[["mse_task1", "mse_task2"]] > 0).all().all()
    assert len(predictions) == 20 * 100 and list(predictions.columns[:2]) == ["p_task1", "p_task2"]


def test_report_tables_figure_and_findings(run):
    pairs, results, predictions = run
    summary, paired, metrics, figure, page = report_relatedness(
        results, predictions, pairs, SMALL, {"report_dir": "x", "alpha": 0.05}, RUN_INFO
    )
    assert len(summary) == 10 and len(paired) == 2 * 4 * 2  # multi-task networks only
    assert set(paired["verdict"]) <= {"gain", "loss", "tie"}
    assert set(metrics["test_mse"]) == {"+0.00", "+1.00"}
    assert metrics["label_correlation"]["+1.00"]["measured"] == pytest.approx(1.0, abs=1e-3)
    assert "| model | +0.00 task1 |" in page and "- **correlation +1.00**:" in page
    assert "commit abc1234" in page and figure.axes


def test_paired_mse_difference_and_interval():
    rng = np.random.default_rng(0)
    labels = rng.normal(size=5000)
    good, bad = labels + rng.normal(0, 0.1, 5000), labels + rng.normal(0, 0.5, 5000)
    test = paired_mse(labels, good, bad)
    assert test.difference == pytest.approx(test.mse_a - test.mse_b)
    assert test.low < test.difference < test.high < 0 and test.p < 1e-6
    same = paired_mse(labels, good, good)
    assert same.difference == 0 and same.p == 1.0


def test_parallel_workers_give_the_same_results(run):
    pairs, results, predictions = run
    again, again_predictions = train_networks(pairs, SMALL | {"workers": 2}, DEFAULTS)
    columns = ["correlation", "model", "seed", "best_epoch", "mse_task1", "mse_task2"]
    assert again[columns].equals(results[columns])
    assert again_predictions.equals(predictions)
