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
    assert "mmoe: test income AUC 0." in caplog.text and "(2 seeds)" in caplog.text
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


PLE = {
    "name": "ple",
    "levels": [{"experts_per_task": 1, "shared_experts": 1, "expert_hidden_units": [8]}] * 2,
    "tower_hidden_units": [4],
}


def test_gates_weigh_only_allowed_experts_and_sum_to_one(inputs):
    train, test, layout = inputs
    model, _, _ = train_model(train, test, layout, PLE, {"seeds": [3], "max_epochs": 1}, DEFAULTS)
    metrics = evaluate_model(model, test, layout, EVALUATION | {"unused_expert_threshold": 0.3})[0]
    gates = metrics["gates"]
    assert gates["seed"] == 3 and set(gates) == {"seed", "level1", "level2"}
    assert list(gates["level1"]) == ["income", "marital", "shared"]  # the last level: no shared
    assert list(gates["level2"]) == ["income", "marital"]
    assert [e for e, a in gates["level2"]["income"]["allowed"].items() if a] == [
        "income.0",
        "shared.0",
    ]
    assert all(gates["level1"]["shared"]["allowed"].values())  # the shared gate sees every expert
    for level in ("level1", "level2"):
        for gate in gates[level].values():
            allowed = [e for e, a in gate["allowed"].items() if a]
            forbidden = [e for e, a in gate["allowed"].items() if not a]
            assert sum(gate["mean_weight"][e] for e in allowed) == pytest.approx(1.0, abs=1e-5)
            assert all(gate["mean_weight"][e] == 0.0 for e in forbidden)
            assert all(gate["utilisation"][e] == 0.0 for e in forbidden)
            assert sum(gate["utilisation"].values()) == pytest.approx(1.0)
            assert gate["unused"] == {e: gate["mean_weight"][e] < 0.3 for e in allowed}
            assert 0.0 <= gate["entropy"] <= gate["max_entropy"] + 1e-6


def test_mmoe_gates_share_every_expert(trained, inputs):
    _, test, layout = inputs
    gates = evaluate_model(trained, test, layout, EVALUATION)[0]["gates"]
    assert list(gates) == ["seed", "level1"] and list(gates["level1"]) == ["income", "marital"]
    assert list(gates["level1"]["income"]["mean_weight"]) == ["shared.0", "shared.1"]
