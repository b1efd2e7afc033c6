"""The training node: model input to a trained model, its history and its metrics."""

from __future__ import annotations

import hashlib
import json
import statistics

import pandas as pd
import torch

from census_mtl.models import build_model
from census_mtl.models.artifact import to_artifact
from census_mtl.training.data import training_inputs
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


def _seeds(settings: dict) -> list[int]:
    seeds = settings.pop("seeds", None)
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) for s in seeds):
        raise ValueError(f"training.seeds must be a non-empty list of integers, got {seeds!r}.")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"training.seeds has duplicates: {seeds}.")
    return seeds


def train_model(
    model_input_train: pd.DataFrame,
    model_input_validation: pd.DataFrame,
    feature_layout: dict,
    model: dict,
    training: dict,
    training_defaults: dict,
) -> tuple[dict, pd.DataFrame, dict]:
    """Train the model described by ``model`` (``name`` plus its parameters) once per seed.

    Returns the model artifact (for each seed, the weights of its best validation epoch; and the
    config that rebuilds the network), the per-epoch history of every seed, and a summary.
    """
    settings = {**training_defaults, **training}
    seeds = _seeds(settings)
    name = model.get("name", "")
    params = {k: v for k, v in model.items() if k != "name"}
    tasks, layout, train, validation = training_inputs(
        model_input_train, model_input_validation, feature_layout
    )
    runs, histories = [], []
    for seed in seeds:
        config = TrainConfig.from_params({**settings, "seed": seed})
        torch.manual_seed(seed)
        network = build_model(name, layout, tasks, params)
        frames = [model_input_train, model_input_validation]
        result = fit(network, train, validation, config, _fingerprint(name, params, config, frames))
        history = pd.DataFrame(result.history).assign(seed=seed)
        best = history.loc[history["epoch"] == result.best_epoch].iloc[0]
        histories.append(history)
        runs.append(
            {
                "seed": seed,
                "best_epoch": result.best_epoch,
                "epochs": len(history),
                "seconds_per_epoch": statistics.median(history["seconds"]),
                "validation_auc": {t: float(best[f"val_auc_{t}"]) for t in tasks},
                "state_dict": result.best_state,
            }
        )
    summary = {
        "model": name,
        "parameters": sum(p.numel() for p in network.parameters()),
        "seconds_per_epoch": statistics.median(pd.concat(histories)["seconds"]),
        "runs": [{k: v for k, v in run.items() if k != "state_dict"} for run in runs],
    }
    return to_artifact(name, params, tasks, layout, runs), pd.concat(histories), summary
