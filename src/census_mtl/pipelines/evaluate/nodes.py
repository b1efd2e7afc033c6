"""The evaluation node: a model artifact and the test split to metrics and curve points."""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
import torch

from census_mtl.config import validate
from census_mtl.config.project import Evaluation
from census_mtl.metrics import pr_points, regression_metrics, roc_points, task_metrics
from census_mtl.models import FeatureLayout, ModelArtifact
from census_mtl.models.funnel import ENTIRE, entire_space_labels, entire_space_probs
from census_mtl.models.gates import gate_usage, levels_of
from census_mtl.training.data import TensorData, to_tensors

AGGREGATED = {
    "binary": ("auc", "auc_ci_low", "auc_ci_high", "pr_auc", "log_loss"),
    "regression": ("mse", "mse_ci_low", "mse_ci_high", "r2", "mae"),
}
logger = logging.getLogger(__name__)


def _throughput(predictor, x: torch.Tensor, batch_size: int, repeats: int) -> float:
    """Rows per second of batched inference (median of ``repeats`` passes over ``x``)."""
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        predictor(x, batch_size)
        seconds.append(time.perf_counter() - started)
    return len(x) / statistics.median(seconds)


def scored_tasks(model: ModelArtifact) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The tasks a model is scored on, with their types: its own, then each funnel step over
    the entire space (``<task>_entire``: ESMM's CTCVR beside the CVR of the clicked rows)."""
    entire = tuple(f"{t}{ENTIRE}" for t in model.tasks if t in model.spaces)
    return (*model.tasks, *entire), (*model.types, *("binary",) * len(entire))


def with_entire_space(
    model: ModelArtifact, values: np.ndarray, over_entire: Callable
) -> np.ndarray:
    """``(N, tasks)`` labels or probabilities with the funnel steps' entire-space columns
    appended (``over_entire``: ``entire_space_labels`` or ``entire_space_probs``), in the order
    of ``scored_tasks``."""
    if not model.spaces:
        return values
    tasks = list(model.tasks)
    steps = [j for j, t in enumerate(tasks) if t in model.spaces]
    return np.hstack([values, over_entire(values, tasks, model.spaces)[:, steps]])


def score_runs(
    model: ModelArtifact, data: TensorData, settings: Evaluation, grid: np.ndarray
) -> tuple[list[dict], list, list, dict[int, np.ndarray]]:
    """Each run's test metrics per scored task, its ROC and PR points on ``grid`` (binary
    tasks), its predictions (probabilities of binary tasks, values of regression tasks)."""
    labels = with_entire_space(model, data.y.numpy(), entire_space_labels)
    types = scored_tasks(model)[1]
    binary = [j for j, kind in enumerate(types) if kind == "binary"]
    runs, roc, pr, probabilities = [], [], [], {}
    for i, run in enumerate(model.runs):
        probs = model.predictor(i)(data.x, settings.batch_size).numpy()
        probs = with_entire_space(model, probs, entire_space_probs)
        scores = _task_scores(labels, probs, model, settings)
        runs.append({"seed": run.seed, "best_epoch": run.best_epoch, **scores})
        roc.append([roc_points(labels[:, j], probs[:, j], grid) for j in binary])
        pr.append([pr_points(labels[:, j], probs[:, j], grid) for j in binary])
        probabilities[run.seed] = probs
    return runs, roc, pr, probabilities


def _task_scores(
    labels: np.ndarray, outputs: np.ndarray, model: ModelArtifact, settings: Evaluation
) -> dict:
    metrics = {"binary": task_metrics, "regression": regression_metrics}
    return {
        task: metrics[kind](labels[:, j], outputs[:, j], settings.bootstrap_samples, settings.seed)
        for j, (task, kind) in enumerate(zip(*scored_tasks(model), strict=True))
    }


def summarise(runs: list[dict], tasks: tuple[str, ...], types: tuple[str, ...]) -> dict:
    """Mean and population std over the runs of each aggregated metric, per task."""
    summary = {}
    for task, kind in zip(tasks, types, strict=True):
        values = {k: [r[task][k] for r in runs] for k in AGGREGATED[kind]}
        summary[task] = {k: statistics.fmean(v) for k, v in values.items()}
        summary[task] |= {f"{k}_std": statistics.pstdev(v) for k, v in values.items()}
        rate = "positive_rate" if kind == "binary" else "mean_label"
        summary[task][rate] = runs[0][task][rate]
        summary[task]["rows"] = runs[0][task]["rows"]
    return summary


def predictions_frame(probabilities: dict[int, np.ndarray], tasks) -> pd.DataFrame:
    """One column ``p_<task>_seed<k>`` per task and seed, one row per test row."""
    return pd.DataFrame(
        {
            f"p_{t}_seed{seed}": p[:, j]
            for seed, p in probabilities.items()
            for j, t in enumerate(tasks)
        }
    )


def evaluate_model(
    model: ModelArtifact, model_input_test: pd.DataFrame, feature_layout: dict, evaluation: dict
) -> tuple[dict, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Test metrics per task for every seed of ``model``, their mean ± std, and the seed
    ensemble's (the mean of the seeds' probabilities); for a gated network, what its gates do
    on the test rows (``gates``: the best validation seed's, per level and gate).

    Returns the metrics, ROC points (true-positive rate per task on a false-positive-rate grid)
    and PR points (precision per task on a recall grid), both averaged over the seeds, and every
    seed's test predictions (for the paired comparisons of the report).
    """
    settings = validate(Evaluation, evaluation, "evaluation")
    tasks, types = scored_tasks(model)
    data = to_tensors(model_input_test, model.tasks, FeatureLayout.from_dict(feature_layout))
    grid = np.linspace(0.0, 1.0, settings.curve_points)
    runs, roc, pr, probabilities = score_runs(model, data, settings, grid)
    ensemble = np.mean(list(probabilities.values()), axis=0)
    predictor = model.predictor(len(model.runs) - 1)
    metrics = {
        "model": model.name,
        "rows": len(data),
        "seeds": len(runs),
        "parameters": model.size(),
        "inference_rows_per_s": _throughput(
            predictor, data.x, settings.batch_size, settings.throughput_repeats
        ),
        "test": summarise(runs, tasks, types),
        "ensemble": _task_scores(
            with_entire_space(model, data.y.numpy(), entire_space_labels), ensemble, model, settings
        ),
        "runs": runs,
        "spaces": dict(model.spaces),
    }
    if model.members:  # a blend: the models it mixes
        metrics["members"] = {role: params.name for role, params in model.members.items()}
    best = model.run_index("best")
    if model.is_network and levels_of(network := model.network(best)):
        metrics["gates"] = {
            "seed": model.runs[best].seed,
            **gate_usage(network, data.x, settings.unused_expert_threshold, settings.batch_size),
        }
    binary = [t for t, kind in zip(tasks, types, strict=True) if kind == "binary"]
    roc_mean, pr_mean = np.mean(roc, axis=0), np.mean(pr, axis=0)
    roc_frame = pd.DataFrame(
        {"fpr": grid} | {f"tpr_{t}": roc_mean[j] for j, t in enumerate(binary)}
    )
    pr_frame = pd.DataFrame(
        {"recall": grid} | {f"precision_{t}": pr_mean[j] for j, t in enumerate(binary)}
    )
    return metrics, roc_frame, pr_frame, predictions_frame(probabilities, tasks)


def auc_by_task(test_metrics: dict) -> dict:
    """Each binary task's test AUC, the mean over the seeds: the narrow DVC metrics view
    (``dvc metrics show data/08_reporting/auc``). The model's result is logged: AUC, or MSE
    and R² of a regression task."""
    test = test_metrics["test"]
    shown = ", ".join(
        f"{t} AUC {s['auc']:.4f} ± {s['auc_std']:.4f}"
        if "auc" in s
        else f"{t} MSE {s['mse']:.4g} ± {s['mse_std']:.2g} (R² {s['r2']:.4f})"
        for t, s in test.items()
    )
    logger.info("%s: test %s (%d seeds)", test_metrics["model"], shown, test_metrics["seeds"])
    return {task: scores["auc"] for task, scores in test.items() if "auc" in scores}
