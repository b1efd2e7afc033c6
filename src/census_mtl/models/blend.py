"""A gradient-boosted tree model and a network, mixed: Shwartz-Ziv and Armon, "Tabular data: Deep
learning is not all you need" (Information Fusion, 2022), find that averaging a tuned GBDT with
deep models beats either alone on most of their data sets.

Here each task's output is ``w_t * gbdt_t + (1 - w_t) * network_t`` (probabilities of a binary
task, values of a regression task), with the GBDT's weight ``w_t`` taken from the grid
``0, step, ..., 1`` where the mix scores best on validation (AUC; R² for a regression task).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from sklearn.metrics import r2_score, roc_auc_score

from census_mtl.metrics import labelled


def mix(gbdt: torch.Tensor, network: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``(N, tasks)`` outputs of the mix: ``weights`` is the GBDT's weight per task."""
    return weights * gbdt + (1.0 - weights) * network


def _score(labels: np.ndarray, outputs: np.ndarray, kind: str) -> float:
    """The validation score of a task's labelled rows: AUC (binary), R² (regression)."""
    score = roc_auc_score if kind == "binary" else r2_score
    return float(score(*labelled(labels, outputs)))


def weight_grid(step: float) -> np.ndarray:
    """The GBDT weights searched: 0 to 1 by ``step`` (1 always included)."""
    return np.unique(np.append(np.arange(0.0, 1.0, step), 1.0).round(10))


def choose_weights(
    labels: np.ndarray,
    gbdt: np.ndarray,
    network: np.ndarray,
    types: Sequence[str],
    step: float,
) -> tuple[list[float], list[list[float]]]:
    """Per task, the GBDT weight whose mix scores best on these rows (the smallest of equals),
    and every weight's score: ``labels``, ``gbdt`` and ``network`` are ``(N, tasks)``."""
    grid, chosen, scores = weight_grid(step), [], []
    for j, kind in enumerate(types):
        task = [_score(labels[:, j], w * gbdt[:, j] + (1 - w) * network[:, j], kind) for w in grid]
        chosen.append(float(grid[int(np.argmax(task))]))
        scores.append(task)
    return chosen, scores
