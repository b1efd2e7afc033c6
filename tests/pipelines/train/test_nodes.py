import tempfile

import pytest

from census_mtl.config import ConfigError
from census_mtl.metrics import validation_scores
from census_mtl.models import ArtifactError, FeatureLayout, ModelArtifact, predict
from census_mtl.pipelines.train.nodes import train_model as _train_model
from census_mtl.training.checkpoints import Checkpoints
from census_mtl.training.data import to_tensors
from tests.pipelines.conftest import preprocessor

MODEL = {
    "name": "mmoe",
    "num_experts": 2,
    "expert_hidden_units": [8],
    "gate_hidden_units": [],
    "tower_hidden_units": [4],
}


def train_model(train, validation, layout, model, training, defaults, folder=None, tasks=None):
    """The node, behind the shared encoder, with a fresh checkpoint folder unless ``folder``;
    ``tasks``: ``preprocess.tasks`` (default: every task binary)."""
    checkpoints = Checkpoints(folder or tempfile.mkdtemp())
    encoder = preprocessor()
    return _train_model(
        train, validation, layout, encoder, checkpoints, model, training, defaults, tasks or {}
    )


DEFAULTS = {
    "seeds": [1],
    "device": "cpu",
    "num_threads": 1,
    "batch_size": 128,
    "max_epochs": 3,
    "optimizer": {"name": "adam", "learning_rate": 0.01},
    "early_stopping": {"metric": "mean_auc", "patience": 2},
}


def test_trains_once_per_seed(inputs, tmp_path):
    train, validation, layout = inputs
    settings = {"seeds": [1, 2]}
    artifact, history, summary = train_model(
        train, validation, layout, MODEL, settings, DEFAULTS, tmp_path
    )
    assert isinstance(artifact, ModelArtifact) and artifact.name == "mmoe"
    assert list(history["epoch"]) == [1, 2, 3, 1, 2, 3]
    assert list(history["seed"]) == [1, 1, 1, 2, 2, 2]
    assert {"train_loss", "val_auc_income", "val_auc_marital", "seconds"} <= set(history)
    assert summary["model"] == "mmoe" and [r["seed"] for r in summary["runs"]] == [1, 2]
    data = to_tensors(validation, artifact.tasks, FeatureLayout.from_dict(layout))
    for i, run in enumerate(summary["runs"]):
        assert run["best_epoch"] in (1, 2, 3)
        assert run["validation_auc"]["marital"] > 0.8
        model = artifact.network(i)
        aucs = validation_scores(data.y, predict(model, data.x), model.tasks, model.task_types)
        assert aucs == pytest.approx(run["validation_auc"])
    assert summary["runs"][0]["validation_auc"] != summary["runs"][1]["validation_auc"]
    assert {p.name for p in tmp_path.iterdir()} == {"last-seed1.pt", "last-seed2.pt"}


def test_a_reused_run_reports_the_training_it_took(inputs, tmp_path):
    first = train_model(*inputs, MODEL, {"seeds": [1]}, DEFAULTS, tmp_path)[2]
    again = train_model(*inputs, MODEL, {"seeds": [1]}, DEFAULTS, tmp_path)[2]  # from checkpoint
    assert again["runs"][0]["train_seconds"] == first["runs"][0]["train_seconds"] > 0


@pytest.mark.parametrize("seeds", [[], [1, 1], "1", None])
def test_bad_seeds_are_explained(inputs, seeds):
    with pytest.raises(ConfigError, match=r"training\.seeds = "):
        train_model(*inputs, MODEL, {"seeds": seeds}, DEFAULTS)


def test_overrides_apply_per_model(inputs):
    train, validation, layout = inputs
    _, history, _ = train_model(train, validation, layout, MODEL, {"max_epochs": 1}, DEFAULTS)
    assert len(history) == 1


def test_nested_overrides_merge_deeply(inputs, caplog):
    """A model's ``training.optimizer.learning_rate`` keeps the default optimizer name."""
    train, validation, layout = inputs
    override = {"max_epochs": 1, "optimizer": {"learning_rate": 0.05}}
    _, history, _ = train_model(train, validation, layout, MODEL, override, DEFAULTS)
    _, default, _ = train_model(train, validation, layout, MODEL, {"max_epochs": 1}, DEFAULTS)
    assert history["train_loss"].iloc[0] != default["train_loss"].iloc[0]


def test_misspelled_model_name_is_explained(inputs):
    with pytest.raises(ConfigError, match="unknown model 'mmeo'; allowed: ple, cgc"):
        train_model(*inputs, {**MODEL, "name": "mmeo"}, {}, DEFAULTS)


def test_model_input_that_does_not_fit_the_layout_is_rejected(inputs):
    train, validation, layout = inputs
    with pytest.raises(ValueError, match="rerun the preprocess pipeline"):
        train_model(train.drop(columns="num__age"), validation, layout, MODEL, {}, DEFAULTS)


def test_a_preprocessor_of_another_run_is_refused_before_training(inputs, tmp_path):
    train, validation, layout = inputs
    other = {**preprocessor(), "categories": {**preprocessor()["categories"], "sex": ["F"]}}
    with pytest.raises(ArtifactError, match="different preprocess runs"):
        _train_model(
            train, validation, layout, other, Checkpoints(tmp_path), MODEL, {}, DEFAULTS, {}
        )
    assert not list(tmp_path.iterdir())  # no seed was trained


def test_non_finite_feature_is_reported(inputs):
    train, validation, layout = inputs
    broken = train.copy()
    broken.loc[5, "num__age"] = float("nan")
    with pytest.raises(ValueError, match="row 5, column 'num__age'"):
        train_model(broken, validation, layout, MODEL, {}, DEFAULTS)
