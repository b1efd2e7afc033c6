"""A TabM BatchEnsemble trains through the same node: every member on the batch's labels; the
ensemble exports to ONNX as its members' mean."""

import numpy as np
import onnxruntime
import pytest

from census_mtl.inference.export import export_onnx
from census_mtl.metrics import validation_scores
from census_mtl.training.data import to_tensors
from tests.pipelines.train.test_nodes import DEFAULTS, train_model

PLE = {
    "name": "ple",
    "levels": [
        {"experts_per_task": 1, "shared_experts": 1, "expert_hidden_units": [8]},
        {"experts_per_task": 1, "shared_experts": 1, "expert_hidden_units": [8]},
    ],
    "gate_hidden_units": [],
    "tower_hidden_units": [4],
}
ESMM = {"name": "esmm", "embedding_dim": 4, "hidden_units": [8], "tower_hidden_units": [4]}


@pytest.mark.parametrize("model", [PLE, ESMM], ids=["ple", "esmm"])
def test_an_ensemble_trains_and_scores_the_members_mean(inputs, tmp_path, model):
    train, validation, layout = inputs
    params = {**model, "batch_ensemble": 4}
    artifact, history, summary = train_model(train, validation, layout, params, {}, DEFAULTS)
    assert summary["model"] == model["name"] and len(history) >= 1
    assert np.isfinite(history["train_loss"]).all()
    data = to_tensors(validation, artifact.tasks, artifact.layout)
    probs = artifact.predictor(0)(data.x)
    assert probs.shape == (len(validation), 2)
    scores = validation_scores(data.y, probs, artifact.tasks, artifact.types)
    assert scores == artifact.runs[0].validation_auc and scores["marital"] > 0.6
    session = onnxruntime.InferenceSession(str(export_onnx(artifact, tmp_path / "tabm.onnx")))
    exported = session.run(None, {"x": data.x.numpy()})
    np.testing.assert_allclose(np.stack(exported, 1), probs.numpy(), rtol=1e-4, atol=1e-5)
