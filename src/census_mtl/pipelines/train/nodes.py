"""The training node: model input to a trained model, its history and its metrics."""

from __future__ import annotations

import hashlib
import json
import statistics
import time

import pandas as pd
import torch

from census_mtl.config import GBDTParams, ModelParams, Training, training_settings
from census_mtl.features import FeatureEncoder
from census_mtl.metrics import score_name
from census_mtl.models import ModelArtifact, TrainedRun, build_model
from census_mtl.models.artifact import check_encoder
from census_mtl.models.registry import model_params
from census_mtl.training.checkpoints import Checkpoints
from census_mtl.training.data import ModelInput, training_inputs
from census_mtl.training.gbdt import fit_gbdt
from census_mtl.training.loop import fit

# Settings that change neither the result nor what a checkpoint may resume.
_NOT_FINGERPRINTED = {"seeds", "device", "num_threads", "resume", "eval_batch_size"}


def fingerprint(
    params: ModelParams, settings: Training, seed: int, frames: list[pd.DataFrame]
) -> str:
    """What a checkpoint must match to be resumed: network, settings, seed and data."""
    digest = hashlib.sha256()
    config = settings.model_dump(exclude=_NOT_FINGERPRINTED) | {"seed": seed}
    digest.update(json.dumps([params.model_dump(), config], sort_keys=True).encode())
    for frame in frames:
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def train_trees(
    params: GBDTParams,
    settings: Training,
    seed: int,
    data: ModelInput,
    checkpoints: Checkpoints,
    key: str,
) -> tuple[TrainedRun, pd.DataFrame]:
    """Fit the GBDT baseline once: its boosters (cut at each task's best round), its history.

    A finished seed is checkpointed whole, so a rerun after a kill keeps it.
    """
    saved = checkpoints.load(seed, key, torch.device("cpu")) if settings.resume else None
    if saved is not None:
        run = TrainedRun(**saved["facts"], boosters=saved["boosters"])
        return run, pd.DataFrame(saved["history"]).assign(seed=seed)
    tasks, types = data.tasks, data.types
    started = time.perf_counter()
    boosters, best, rows = fit_gbdt(
        params, settings, seed, tasks, data.layout, data.train, data.validation, types
    )
    history = pd.DataFrame(rows)
    run = TrainedRun(
        seed=seed,
        best_epoch=max(best.values()),
        epochs=len(history),
        seconds_per_epoch=float(history["seconds"].iloc[0]),
        validation_auc={
            t: float(history[f"val_{score_name(k)}_{t}"].iloc[best[t] - 1])
            for t, k in zip(tasks, types, strict=True)
        },
        boosters=boosters,
        train_seconds=time.perf_counter() - started,
    )
    payload = {"fingerprint": key, "facts": run.facts(), "boosters": boosters, "history": rows}
    checkpoints.save(seed, payload)
    return run, history.assign(seed=seed)


def train_seed(
    params: ModelParams,
    settings: Training,
    seed: int,
    data: ModelInput,
    checkpoints: Checkpoints,
    key: str,
) -> tuple[TrainedRun, pd.DataFrame]:
    """Train one instance: its run record (best epoch's weights) and its history."""
    if isinstance(params, GBDTParams):
        return train_trees(params, settings, seed, data, checkpoints, key)
    tasks, types = data.tasks, data.types
    torch.manual_seed(seed)
    network = build_model(params.name, data.layout, tasks, params, types, data.spaces)
    result = fit(network, data.train, data.validation, settings, seed, checkpoints, key)
    history = pd.DataFrame(result.history).assign(seed=seed)
    best = history.loc[history["epoch"] == result.best_epoch].iloc[0]
    run = TrainedRun(
        seed=seed,
        best_epoch=result.best_epoch,
        epochs=len(history),
        seconds_per_epoch=statistics.median(history["seconds"]),
        validation_auc={
            t: float(best[f"val_{score_name(k)}_{t}"]) for t, k in zip(tasks, types, strict=True)
        },
        state_dict=result.best_state,
        # The epochs' own times, kept in the checkpoint: a resumed or reused run reports the
        # training it took, not the seconds this call spent reloading it.
        train_seconds=float(history["seconds"].sum()),
    )
    return run, history


def train_model(
    model_input_train: pd.DataFrame,
    model_input_validation: pd.DataFrame,
    feature_layout: dict,
    preprocessor: dict,
    checkpoints: Checkpoints,
    model: dict,
    training: dict,
    training_defaults: dict,
    task_settings: dict,
) -> tuple[ModelArtifact, pd.DataFrame, dict]:
    """Train the model described by ``model`` (``name`` plus its parameters) once per seed.

    ``training`` overrides ``training_defaults`` key by key, at every depth; ``task_settings``
    (``preprocess.tasks``) gives each task's type. Returns the model
    artifact (each seed's best validation epoch, with the ``preprocessor`` that encoded its
    input, so that scoring a raw file needs only the model), the per-epoch history of every
    seed, and a summary.
    """
    data = training_inputs(model_input_train, model_input_validation, feature_layout, task_settings)
    tasks, layout = data.tasks, data.layout
    encoder = FeatureEncoder.from_dict(preprocessor)
    check_encoder(encoder, layout)  # before hours of training, not after
    params = model_params(model.get("name", ""), model)
    settings = training_settings(training_defaults, training, tasks=tasks)
    frames = [model_input_train, model_input_validation]
    runs, histories = [], []
    for seed in settings.seeds:
        key = fingerprint(params, settings, seed, frames)
        run, history = train_seed(params, settings, seed, data, checkpoints, key)
        runs.append(run)
        histories.append(history)
    artifact = ModelArtifact(
        params, tuple(tasks), encoder, layout, tuple(runs), tuple(data.types), data.spaces
    )
    return artifact, pd.concat(histories), training_summary(artifact, pd.concat(histories))


def training_summary(artifact: ModelArtifact, history: pd.DataFrame) -> dict:
    """Size (parameters, or a GBDT's leaves), median seconds per epoch, and each run's facts."""
    return {
        "model": artifact.name,
        "parameters": artifact.size(),
        "seconds_per_epoch": statistics.median(history["seconds"]),
        "train_seconds": statistics.fmean(run.train_seconds for run in artifact.runs),
        "runs": [run.facts() for run in artifact.runs],
    }
