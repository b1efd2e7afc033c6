import pytest
from sklearn.metrics import roc_auc_score

from census_mtl.pipelines.evaluate.nodes import auc_by_task, evaluate_model
from tests.pipelines.train.test_nodes import DEFAULTS, MODEL, train_model

EVALUATION = {
    "bootstrap_samples": 50,
    "seed": 0,
    "curve_points": 11,
    "batch_size": 512,
    "throughput_repeats": 1,
}


@pytest.fixture(scope="module")
def trained(inputs):
    train, validation, layout = inputs
    artifact, _, _ = train_model(train, validation, layout, MODEL, {"seeds": [1, 2]}, DEFAULTS)
    return artifact


def test_metrics_per_task_per_seed_and_their_mean(trained, inputs, caplog):
    _, test, layout = inputs
    metrics, roc, pr, predictions = evaluate_model(trained, test, layout, EVALUATION)
    assert metrics["model"] == "mmoe" and metrics["seeds"] == 2 and metrics["rows"] == len(test)
    assert len(predictions) == len(test) and predictions.shape[1] == 4
    for task in ("income", "marital"):  # the ensemble scores the mean of the seeds' predictions
        mean = predictions[[f"p_{task}_seed1", f"p_{task}_seed2"]].mean(axis=1)
        expected = roc_auc_score(test[f"y__{task}"], mean)
        assert metrics["ensemble"][task]["auc"] == pytest.approx(expected, rel=1e-6)
    assert [run["seed"] for run in metrics["runs"]] == [1, 2]
    for task in ("income", "marital"):
        runs = [run[task]["auc"] for run in metrics["runs"]]
        assert metrics["test"][task]["auc"] == pytest.approx(sum(runs) / 2)
        assert metrics["test"][task]["auc_std"] == pytest.approx(abs(runs[0] - runs[1]) / 2)
        assert metrics["test"][task]["positive_rate"] == pytest.approx(test[f"y__{task}"].mean())
    with caplog.at_level("INFO"):
        narrow = auc_by_task(metrics)  # the narrow DVC metrics file: the mean AUC and nothing else
    assert "mmoe: test AUC income 0." in caplog.text and "(2 seeds)" in caplog.text
    assert narrow == {t: metrics["test"][t]["auc"] for t in ("income", "marital")}
    assert metrics["parameters"] > 0 and metrics["inference_rows_per_s"] > 0
    assert list(roc.columns) == ["fpr", "tpr_income", "tpr_marital"] and len(roc) == 11
    assert list(pr.columns) == ["recall", "precision_income", "precision_marital"]


def test_each_task_is_scored_on_its_own(trained, inputs):
    """A pooled AUC over both tasks' outputs would differ from either task's."""
    _, test, layout = inputs
    metrics, *_ = evaluate_model(trained, test, layout, EVALUATION)
    income, marital = (metrics["runs"][0][t]["auc"] for t in ("income", "marital"))
    assert income != pytest.approx(marital)
    assert 0.5 < income < 1 and 0.5 < marital < 1
