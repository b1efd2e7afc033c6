"""A TabM BatchEnsemble trains through the same node: every member on the batch's labels."""

import numpy as np

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
    "batch_ensemble": 4,
}


def test_an_ensemble_trains_and_scores_the_members_mean(inputs):
    train, validation, layout = inputs
    artifact, history, summary = train_model(train, validation, layout, PLE, {}, DEFAULTS)
    assert summary["model"] == "ple" and len(history) >= 1
    assert np.isfinite(history["train_loss"]).all()
    data = to_tensors(validation, artifact.tasks, artifact.layout)
    probs = artifact.predictor(0)(data.x)
    assert probs.shape == (len(validation), 2)
    scores = validation_scores(data.y, probs, artifact.tasks, artifact.types)
    assert scores == artifact.runs[0].validation_auc and scores["marital"] > 0.6
