"""The GBDT baseline through the same training node, artifact, evaluation and export."""

import lightgbm as lgb
import numpy as np
import pytest

from census_mtl.config import ConfigError
from census_mtl.inference.export import export_boosters
from census_mtl.metrics import validation_scores
from census_mtl.models import FeatureLayout, ModelArtifact
from census_mtl.models.gbdt import tree_columns
from census_mtl.pipelines.evaluate.nodes import evaluate_model
from census_mtl.training.data import to_tensors
from tests.pipelines.train.test_nodes import DEFAULTS, train_model

GBDT = {"name": "gbdt", "num_leaves": 7, "max_rounds": 80, "early_stopping_rounds": 10}


@pytest.fixture(scope="module")
def trained(inputs, tmp_path_factory):
    train, validation, layout = inputs
    folder = tmp_path_factory.mktemp("checkpoints")
    return train_model(train, validation, layout, GBDT, {"seeds": [1, 2]}, DEFAULTS, folder), folder


def test_trains_one_booster_per_task_and_seed(trained, inputs):
    (artifact, history, summary), _ = trained
    _, validation, layout = inputs
    assert artifact.name == "gbdt" and not artifact.is_network
    assert [sorted(run.boosters) for run in artifact.runs] == [["income", "marital"]] * 2
    assert summary["parameters"] == artifact.size() > 0
    assert set(history["seed"]) == {1, 2} and history["epoch"].max() <= 80
    data = to_tensors(validation, artifact.tasks, FeatureLayout.from_dict(layout))
    for i, run in enumerate(artifact.runs):
        probs = artifact.predictor(i)(data.x)
        assert ((probs >= 0) & (probs <= 1)).all()
        assert validation_scores(data.y, probs, artifact.tasks, artifact.types) == pytest.approx(
            run.validation_auc
        )
        assert run.validation_auc["marital"] > 0.8
    first, second = (artifact.predictor(i)(data.x) for i in (0, 1))
    assert not np.allclose(first.numpy(), second.numpy())  # the seeds draw other rows/features


def test_artifact_round_trip_keeps_the_boosters_as_text(trained, inputs):
    (artifact, _, _), _ = trained
    again = ModelArtifact.from_payload(artifact.to_payload())
    x = to_tensors(inputs[1], artifact.tasks, artifact.layout).x
    assert np.array_equal(again.predictor(1)(x).numpy(), artifact.predictor(1)(x).numpy())
    assert isinstance(artifact.to_payload()["boosters"]["run0.income"], str)


def test_a_finished_seed_is_reused_from_its_checkpoint(trained, inputs):
    (artifact, _, _), folder = trained
    assert {p.name for p in folder.iterdir()} == {"last-seed1.pt", "last-seed2.pt"}
    again, _, _ = train_model(*inputs, GBDT, {"seeds": [1, 2]}, DEFAULTS, folder)
    assert again.runs[0].boosters == artifact.runs[0].boosters
    assert again.runs[0].train_seconds == artifact.runs[0].train_seconds  # not retrained


def test_trees_skip_the_bin_fields(inputs):
    layout = FeatureLayout.from_dict(inputs[2])
    columns, categorical = tree_columns(layout)
    names = [*layout.numeric, *(n for n, _ in layout.categorical)]
    assert not [names[c] for c in columns if names[c].startswith("bin__")]
    assert all(names[columns[c]].startswith("cat__") for c in categorical)


def test_evaluation_and_export(trained, inputs, tmp_path):
    (artifact, _, _), _ = trained
    settings = {
        "bootstrap_samples": 20,
        "seed": 0,
        "curve_points": 11,
        "batch_size": 512,
        "throughput_repeats": 1,
    }
    metrics, _, _, predictions = evaluate_model(artifact, inputs[1], inputs[2], settings)
    assert metrics["model"] == "gbdt" and set(metrics["ensemble"]) == {"income", "marital"}
    assert list(predictions.columns) == [
        f"p_{t}_seed{s}" for s in (1, 2) for t in ("income", "marital")
    ]
    paths = export_boosters(artifact, tmp_path / "gbdt.txt")
    assert [p.name for p in paths] == ["gbdt.income.txt", "gbdt.marital.txt"]
    booster = lgb.Booster(model_file=str(paths[0]))
    x = to_tensors(inputs[1], artifact.tasks, artifact.layout).x.numpy()
    expected = artifact.predictor(0)(to_tensors(inputs[1], artifact.tasks, artifact.layout).x)
    columns, _ = tree_columns(artifact.layout)
    np.testing.assert_allclose(booster.predict(x[:, columns]), expected[:, 0].numpy(), rtol=1e-6)


def _leaves(booster_text: str) -> list[int]:
    return [t["num_leaves"] for t in lgb.Booster(model_str=booster_text).dump_model()["tree_info"]]


def test_a_task_has_its_own_booster_settings(inputs):
    own = GBDT | {"tasks": {"income": {"num_leaves": 3}}}
    artifact, _, _ = train_model(*inputs, own, {}, DEFAULTS)
    boosters = artifact.runs[0].boosters
    assert max(_leaves(boosters["income"])) <= 3 < max(_leaves(boosters["marital"]))
    shared, _, _ = train_model(*inputs, GBDT, {}, DEFAULTS)
    assert shared.runs[0].boosters["marital"] == boosters["marital"]


def test_a_task_weights_its_rows_on_its_own(inputs):
    own = GBDT | {"tasks": {"income": {"use_sample_weight": True}}}
    artifact, _, _ = train_model(*inputs, own, {}, DEFAULTS)
    weighted, _, _ = train_model(*inputs, GBDT, {"loss": {"use_sample_weight": True}}, DEFAULTS)
    shared, _, _ = train_model(*inputs, GBDT, {}, DEFAULTS)
    boosters = artifact.runs[0].boosters
    assert boosters["income"] == weighted.runs[0].boosters["income"]
    assert boosters["marital"] == shared.runs[0].boosters["marital"]
    assert boosters["income"] != shared.runs[0].boosters["income"]


@pytest.mark.parametrize(
    ("tasks", "message"),
    [
        ({"income": {"num_leaves": 1}}, "model.tasks.income.num_leaves = 1: .*greater than"),
        ({"income": {"leaves": 3}}, r"model.tasks.income.leaves: unknown key"),
    ],
)
def test_bad_task_booster_settings_are_explained(inputs, tasks, message):
    with pytest.raises(ConfigError, match=message):
        train_model(*inputs, GBDT | {"tasks": tasks}, {}, DEFAULTS)
