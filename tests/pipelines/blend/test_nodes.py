"""The blend: its node on trained models, its model file, evaluation, scoring and export."""

import json

import numpy as np
import pytest
import torch

from census_mtl.config import ConfigError
from census_mtl.inference.export import export_model
from census_mtl.models import FeatureLayout, ModelArtifact
from census_mtl.models.artifact import load_artifact, save_artifact
from census_mtl.models.blend import mix
from census_mtl.models.checks import ArtifactError
from census_mtl.pipelines.blend.nodes import train_blend
from census_mtl.pipelines.evaluate.nodes import evaluate_model
from census_mtl.training.data import to_tensors
from tests.pipelines.train.test_gbdt import GBDT
from tests.pipelines.train.test_nodes import DEFAULTS, MODEL, train_model

TWO_SEEDS = {"seeds": [1, 2]}
SINGLE = {"name": "single_task", "hidden_units": [8]}
EVALUATION = {
    "bootstrap_samples": 20,
    "seed": 0,
    "curve_points": 11,
    "batch_size": 512,
    "throughput_repeats": 1,
}


@pytest.fixture(scope="module")
def models(inputs):
    """The GBDT and two networks, each trained with seeds 1 and 2."""
    train = {
        name: train_model(*inputs, spec, TWO_SEEDS, DEFAULTS)[0]
        for name, spec in (("gbdt", GBDT), ("mmoe", MODEL), ("single_task", SINGLE))
    }
    return train


@pytest.fixture(scope="module")
def blended(models, inputs):
    _, validation, layout = inputs
    return train_blend(validation, layout, {"weight_step": 0.1}, **models)


def _mean_score(model: ModelArtifact) -> float:
    return np.mean([v for r in model.runs for v in r.validation_auc.values()])


def test_the_best_network_is_mixed_with_weights_that_do_no_worse_on_validation(blended, models):
    artifact, history, summary = blended
    best = max(("mmoe", "single_task"), key=lambda n: _mean_score(models[n]))
    assert artifact.name == "blend" and artifact.params.network == best == summary["network"]
    assert set(artifact.members) == {"gbdt", "network"}
    assert len(history) == 2 * 2 * 11 and set(history["seed"]) == {1, 2}
    for run, tree, net in zip(artifact.runs, models["gbdt"].runs, models[best].runs, strict=True):
        assert run.boosters == tree.boosters and run.state_dict is net.state_dict
        for task, score in run.validation_auc.items():
            assert score >= max(tree.validation_auc[task], net.validation_auc[task]) - 1e-6
            assert 0.0 <= run.weights[task] <= 1.0


def test_a_named_network_is_used(models, inputs):
    artifact, _, _ = train_blend(*inputs[1:], {"network": "single_task"}, **models)
    assert artifact.params.network == "single_task"
    assert artifact.members["network"].name == "single_task"


def test_its_outputs_are_the_members_mixed_by_its_weights(blended, models, inputs):
    artifact, _, _ = blended
    x = to_tensors(inputs[1], artifact.tasks, FeatureLayout.from_dict(inputs[2])).x
    network = models[artifact.params.network]
    for i, run in enumerate(artifact.runs):
        weights = torch.tensor([run.weights[t] for t in artifact.tasks])
        expected = mix(models["gbdt"].predictor(i)(x), network.predictor(i)(x), weights)
        assert torch.allclose(artifact.predictor(i)(x), expected)


def test_the_model_file_round_trip_and_a_bad_weight(blended, inputs, tmp_path):
    artifact, _, _ = blended
    save_artifact(artifact, tmp_path / "model.pt")
    again = load_artifact(tmp_path / "model.pt")
    x = to_tensors(inputs[1], artifact.tasks, artifact.layout).x
    assert torch.equal(again.predictor(1)(x), artifact.predictor(1)(x))
    assert again.members == artifact.members and again.size() == artifact.size()
    payload = artifact.to_payload()
    meta = json.loads(payload["meta"])
    meta["runs"][0]["weights"]["income"] = 2.0
    with pytest.raises(ArtifactError, match="not numbers in"):
        ModelArtifact.from_payload(payload | {"meta": json.dumps(meta)})


def test_evaluation_names_its_members_and_export_writes_every_part(blended, inputs, tmp_path):
    artifact, _, _ = blended
    metrics, _, _, predictions = evaluate_model(artifact, inputs[1], inputs[2], EVALUATION)
    assert metrics["model"] == "blend" and "gates" not in metrics
    assert metrics["members"] == {"gbdt": "gbdt", "network": artifact.params.network}
    assert predictions.shape[1] == 2 * 2
    paths = export_model(artifact, tmp_path / "blend.onnx")
    assert [p.name for p in paths] == [
        "blend.onnx",
        "blend.income.txt",
        "blend.marital.txt",
        "blend.blend.json",
    ]
    recipe = json.loads(paths[-1].read_text())
    assert recipe["gbdt_weight"] == artifact.runs[0].weights
    assert recipe["boosters"] == {"income": "blend.income.txt", "marital": "blend.marital.txt"}


def test_members_of_other_seeds_and_bad_settings_are_refused(models, inputs):
    one_seed = train_model(*inputs, SINGLE, {"seeds": [1]}, DEFAULTS)[0]
    with pytest.raises(ArtifactError, match=r"seeds \(gbdt \[1, 2\], single_task \[1\]\)"):
        train_blend(
            *inputs[1:], {"network": "single_task"}, gbdt=models["gbdt"], single_task=one_seed
        )
    with pytest.raises(ConfigError, match=r"blend\.model\.network"):
        train_blend(*inputs[1:], {"network": "nosuch"}, **models)
