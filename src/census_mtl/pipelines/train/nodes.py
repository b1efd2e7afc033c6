"""The training node: model input to a trained model, its history and its metrics."""

from __future__ import annotations

import hashlib
import json
import statistics

import pandas as pd
import torch

from census_mtl.features import LABEL_PREFIX
from census_mtl.models import FeatureLayout, build_model
from census_mtl.models.artifact import to_artifact
from census_mtl.training.data import to_tensors
from census_mtl.training.loop import TrainConfig, fit

# Settings that change neither the result nor what a checkpoint may resume.
_NOT_FINGERPRINTED = ("device", "num_threads", "checkpoint_dir", "resume", "eval_batch_size")


def _fingerprint(name: str, params: dict, config: TrainConfig, frames: list[pd.DataFrame]) -> str:
    digest = hashlib.sha256()
    settings = {k: v for k, v in vars(config).items() if k not in _NOT_FINGERPRINTED}
    digest.update(json.dumps([name, params, settings], sort_keys=True, default=str).encode())
    for frame in frames:
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def train_model(
    model_input_train: pd.DataFrame,
    model_input_validation: pd.DataFrame,
    feature_layout: dict,
    model: dict,
    training: dict,
    training_defaults: dict,
) -> tuple[dict, pd.DataFrame, dict]:
    """Train the model described by ``model`` (``name`` plus its parameters).

    Returns the model artifact (weights of the best validation epoch and the config that rebuilds
    it), the per-epoch history and a summary of the run.
    """
    config = TrainConfig.from_params({**training_defaults, **training})
    name = model.get("name", "")
    params = {k: v for k, v in model.items() if k != "name"}
    tasks = [c.removeprefix(LABEL_PREFIX) for c in model_input_train if c.startswith(LABEL_PREFIX)]
    layout = FeatureLayout.from_dict(feature_layout)
    torch.manual_seed(config.seed)
    network = build_model(name, layout, tasks, params)
    train = to_tensors(model_input_train, tasks, layout)
    validation = to_tensors(model_input_validation, tasks, layout)
    fingerprint = _fingerprint(name, params, config, [model_input_train, model_input_validation])
    result = fit(network, train, validation, config, fingerprint)
    history = pd.DataFrame(result.history)
    best = history.loc[history["epoch"] == result.best_epoch].iloc[0]
    summary = {
        "model": name,
        "seed": config.seed,
        "best_epoch": result.best_epoch,
        "epochs": len(history),
        "seconds_per_epoch": statistics.median(history["seconds"]),
        "parameters": sum(p.numel() for p in network.parameters()),
        "validation_auc": {t: float(best[f"val_auc_{t}"]) for t in tasks},
    }
    return to_artifact(name, params, tasks, layout, result.best_state), history, summary
