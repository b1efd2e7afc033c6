"""Gradient-boosted trees (LightGBM), one booster per task, over the compact model input.

Trees read the numeric features as they are and the categorical fields with LightGBM's native
categorical splits; the quantile-bin fields of the networks are left out (trees cut numbers
themselves). A booster is kept as LightGBM's own text model, never as a pickle.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import lightgbm as lgb
import numpy as np

from census_mtl.config.network import Booster
from census_mtl.models.inputs import FeatureLayout


def tree_columns(layout: FeatureLayout) -> tuple[list[int], list[int]]:
    """Columns of the compact input the trees read, and which of those are categorical."""
    fields = [
        layout.n_numeric + i
        for i, (name, _) in enumerate(layout.categorical)
        if not name.startswith("bin__")
    ]
    columns = list(range(layout.n_numeric)) + fields
    return columns, list(range(layout.n_numeric, len(columns)))


def lightgbm_params(params: Booster, seed: int, threads: int | None, kind: str = "binary") -> dict:
    """LightGBM's parameters for one seeded, deterministic fit of a ``kind`` task: binary
    (log-loss, validation AUC) or regression (squared error, validation L2)."""
    options = params.model_dump(
        include=set(Booster.model_fields) - {"max_rounds", "early_stopping_rounds"},
        exclude={"use_sample_weight"},
    )
    return options | {
        "objective": kind,
        "metric": "auc" if kind == "binary" else "l2",
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": threads or 0,
        "verbosity": -1,
    }


class BoostedTrees:
    """Per-task boosters from their text models; ``predict`` gives ``(N, tasks)``: a binary
    task's probability, a regression task's value (each booster knows its objective)."""

    def __init__(self, models: Mapping[str, str], layout: FeatureLayout, tasks: Sequence[str]):
        self.tasks = list(tasks)
        self.columns, _ = tree_columns(layout)
        self.boosters = [lgb.Booster(model_str=models[task]) for task in self.tasks]

    def predict(self, x: np.ndarray) -> np.ndarray:
        features = np.ascontiguousarray(x[:, self.columns], dtype=np.float64)
        return np.stack([b.predict(features) for b in self.boosters], axis=1).astype(np.float32)

    def leaves(self) -> int:
        """Leaves over every tree of every task: the model's size."""
        return sum(
            tree["num_leaves"] for b in self.boosters for tree in b.dump_model()["tree_info"]
        )
