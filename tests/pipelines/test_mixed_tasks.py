"""A binary and a regression task in one model: training, evaluation, report and ONNX export."""

import numpy as np
import onnxruntime
import pytest
import torch

from census_mtl.inference.export import export_onnx
from census_mtl.models.prediction import predict
from census_mtl.pipelines.compare.nodes import compare_models
from census_mtl.pipelines.evaluate.nodes import auc_by_task, evaluate_model
from tests.pipelines.evaluate.test_nodes import EVALUATION
from tests.pipelines.train.test_nodes import DEFAULTS, MODEL, train_model

TASKS = {
    "income": {"column": "income_50k", "positive": ["50000+."]},
    "age": {"column": "age", "type": "regression"},
}
MODELS = {
    "mmoe": MODEL,
    "single_task": {"name": "single_task", "hidden_units": [8], "tower_hidden_units": [4]},
    "gbdt": {"name": "gbdt", "max_rounds": 30, "early_stopping_rounds": 5},
}


def with_age(frame):
    """The model input with ``marital`` swapped for a regression label: age in years."""
    age = 40 + 20 * frame["num__age"]  # standardised age back to a years-like scale
    return frame.drop(columns="y__marital").assign(y__age=age.astype("float32"))


@pytest.fixture(scope="module")
def trained(inputs):
    train, test, layout = inputs
    train, test = with_age(train), with_age(test)
    models = {
        name: train_model(train, test, layout, params, {"seeds": [1, 2]}, DEFAULTS, tasks=TASKS)
        for name, params in MODELS.items()
    }
    return models, test, layout


def test_training_scores_each_task_by_its_type(trained):
    models, test, _ = trained
    for name, (model, history, _) in models.items():
        assert model.types == ("binary", "regression"), name
        assert {"val_auc_income", "val_r2_age"} <= set(history.columns)
        assert model.runs[0].validation_auc["age"] > 0.2  # R²: above a constant's 0
        x = test.filter(regex="^(num|cat|bin)__").to_numpy(np.float32)
        outputs = model.predictor(0)(torch.from_numpy(x))
        assert outputs[:, 0].min() >= 0 and outputs[:, 0].max() <= 1  # a probability
        assert outputs[:, 1].mean() > 10  # a value in years, not a probability


def test_evaluation_report_and_export(trained, tmp_path):
    models, test, layout = trained
    datasets = {}
    for name, (model, history, summary) in models.items():
        metrics, roc, _, predictions = evaluate_model(model, test, layout, EVALUATION)
        assert set(metrics["test"]["age"]) >= {"mse", "mse_ci_low", "r2", "mae", "mean_label"}
        assert "auc" in metrics["test"]["income"] and list(roc.columns) == ["fpr", "tpr_income"]
        assert auc_by_task(metrics) == {"income": metrics["test"]["income"]["auc"]}
        datasets |= {
            f"{name}.test_metrics": metrics,
            f"{name}.training_metrics": summary,
            f"{name}.training_history": history,
            f"{name}.roc_curve": roc,
            f"{name}.test_predictions": predictions,
        }
    compare = {"report_dir": str(tmp_path), "alpha": 0.05}
    long, table, paired, markdown, *_ = compare_models(compare, test, {}, **datasets)
    assert set(paired.loc[paired["task"] == "age", "metric"]) == {"mse"}
    assert "age MSE" in markdown and "age R²" in markdown and "income AUC" in markdown
    gain = long.set_index(["model", "task", "metric"]).loc[("mmoe", "age", "gain")]
    assert gain["low"] <= gain["value"] <= gain["high"]
    assert {"mse_age", "mse_ci_low_age", "gain_ci_high_age"} <= set(table.columns)
    model = models["mmoe"][0]
    session = onnxruntime.InferenceSession(str(export_onnx(model, tmp_path / "mixed.onnx")))
    assert [o.name for o in session.get_outputs()] == ["p_income", "value_age"]
    x = test.filter(regex="^(num|cat|bin)__").to_numpy(np.float32)
    expected = predict(model.network(), torch.from_numpy(x.copy())).numpy()
    for i, output in enumerate(session.run(None, {"x": x})):
        np.testing.assert_allclose(output, expected[:, i], rtol=1e-4, atol=1e-4)
