"""The task-relatedness benchmark: every network on every synthetic task pair, every seed."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import torch

from census_mtl.config import Training
from census_mtl.config.relatedness import Relatedness
from census_mtl.data.relatedness import expected_label_correlation, generate_pair, sine_terms
from census_mtl.metrics import r2
from census_mtl.models import build_model
from census_mtl.models.prediction import predict
from census_mtl.training.data import TensorData
from census_mtl.training.grid import in_processes
from census_mtl.training.loop import fit

TASKS = ("task1", "task2")
SPLITS = ("train", "validation", "test")
logger = logging.getLogger(__name__)


def task_pairs(settings: Relatedness) -> pd.DataFrame:
    """One generated pair per correlation: ``correlation, split, x__0.., y__task1, y__task2``.

    Every correlation shares the seed, hence the inputs, ``u1, u2``, the sine terms, the noise
    and task 1's labels: only task 2's weights turn, so correlation is all that differs."""
    spec, frames = settings.data, []
    for correlation in settings.correlations:
        sizes = (spec.train_rows, spec.validation_rows, spec.test_rows)
        pair = generate_pair(
            correlation,
            sum(sizes),
            spec.dim,
            spec.scale,
            spec.sine_terms,
            spec.sine_scale,
            spec.noise_std,
            spec.seed,
        )
        frame = pd.DataFrame(pair.x, columns=[f"x__{i}" for i in range(spec.dim)])
        frame[[f"y__{t}" for t in TASKS]] = pair.y
        frame.insert(0, "split", np.repeat(SPLITS, sizes))
        frame.insert(0, "correlation", correlation)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _tensors(frame: pd.DataFrame) -> TensorData:
    x = frame.filter(like="x__").to_numpy(np.float32, copy=True)
    y = frame[[f"y__{t}" for t in TASKS]].to_numpy(np.float32, copy=True)
    return TensorData(torch.from_numpy(x), torch.from_numpy(y), torch.ones(len(frame)))


def split_tensors(pairs: pd.DataFrame, correlation: float) -> dict[str, TensorData]:
    """The train, validation and test tensors of one correlation's pair."""
    pair = pairs[pairs["correlation"] == correlation]
    return {split: _tensors(pair[pair["split"] == split]) for split in SPLITS}


def train_one(
    name: str, settings: Relatedness, training: Training, data: dict, seed: int
) -> tuple[dict, np.ndarray]:
    """One network, one seed: its facts and its test predictions ``(rows, 2)``."""
    torch.manual_seed(seed)
    params = getattr(settings.models, name)
    network = build_model(name, settings.data.dim, TASKS, params, ("regression",) * 2)
    result = fit(network, data["train"], data["validation"], training, seed, log_epochs=False)
    test = data["test"]
    values = predict(network, test.x, training.eval_batch_size).numpy()
    labels = test.y.numpy()
    facts = {
        "best_epoch": result.best_epoch,
        "epochs": len(result.history),
        "train_seconds": sum(row["seconds"] for row in result.history),
    }
    for j, task in enumerate(TASKS):
        facts[f"mse_{task}"] = float(((values[:, j] - labels[:, j]) ** 2).mean())
        facts[f"r2_{task}"] = r2(labels[:, j], values[:, j])
    return facts, values


def train_all(
    pairs: pd.DataFrame, settings: Relatedness, training: Training
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every correlation, network and seed: a row of test results each, and every test
    prediction (``correlation, model, seed, row, p_task1, p_task2``) for the paired tests."""
    data = {c: split_tensors(pairs, c) for c in settings.correlations}
    keys = [
        {"correlation": c, "model": name, "seed": seed}
        for c in settings.correlations
        for name in type(settings.models).model_fields
        for seed in settings.seeds
    ]
    jobs = [(k["model"], settings, training, data[k["correlation"]], k["seed"]) for k in keys]
    results, predictions = [], []
    for key, (facts, values) in zip(
        keys, in_processes(train_one, jobs, settings.workers), strict=True
    ):
        results.append(key | facts)
        frame = pd.DataFrame(values, columns=[f"p_{t}" for t in TASKS])
        predictions.append(frame.assign(**key, row=np.arange(len(frame))))
        if key["seed"] == settings.seeds[-1]:
            logger.info(
                "correlation %+.2f, %s: test MSE %s",
                key["correlation"],
                key["model"],
                _mse_line(results[-len(settings.seeds) :]),
            )
    return pd.DataFrame(results), pd.concat(predictions, ignore_index=True)


def _mse_line(rows: list[dict]) -> str:
    return ", ".join(f"{t} {np.mean([r[f'mse_{t}'] for r in rows]):.4f}" for t in TASKS)


def held_out_labels(pairs: pd.DataFrame) -> dict[float, np.ndarray]:
    """Each correlation's test labels ``(rows, 2)``, in row order."""
    test = pairs[pairs["split"] == "test"]
    return {
        c: rows[[f"y__{t}" for t in TASKS]].to_numpy()
        for c, rows in test.groupby("correlation", sort=False)
    }


def label_correlations(pairs: pd.DataFrame, settings: Relatedness) -> pd.DataFrame:
    """Per correlation: the labels' Pearson correlation the generator implies, and the one
    measured on the generated training rows."""
    spec, rows = settings.data, []
    alphas, betas = sine_terms(spec.sine_terms, spec.sine_scale, spec.seed)
    for correlation in settings.correlations:
        train = pairs[(pairs["correlation"] == correlation) & (pairs["split"] == "train")]
        measured = float(np.corrcoef(train["y__task1"], train["y__task2"])[0, 1])
        expected = expected_label_correlation(
            correlation, spec.scale, alphas, betas, spec.noise_std
        )
        rows.append({"correlation": correlation, "expected": expected, "measured": measured})
    return pd.DataFrame(rows)
