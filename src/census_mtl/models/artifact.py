"""A trained model as plain data: weights plus what rebuilds it (no pickled class)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from census_mtl.models.inputs import FeatureLayout
from census_mtl.models.registry import build_model


def to_artifact(
    name: str, params: Mapping, tasks: Sequence[str], layout: FeatureLayout, runs: Sequence[Mapping]
) -> dict:
    """Built-in types and CPU tensors that ``from_artifact`` turns back into models.

    ``runs`` holds one trained instance per seed: a ``state_dict`` and any plain-data facts
    about it (seed, best epoch, validation AUC).
    """
    return {
        "name": name,
        "params": dict(params),
        "tasks": list(tasks),
        "layout": {"n_numeric": layout.n_numeric, "cardinalities": list(layout.cardinalities)},
        "runs": [
            {**run, "state_dict": {k: v.detach().cpu() for k, v in run["state_dict"].items()}}
            for run in runs
        ],
    }


def from_artifact(artifact: Mapping, run: int = 0) -> torch.nn.Module:
    """Rebuild the ``run``-th trained instance of ``to_artifact``, in evaluation mode."""
    layout = FeatureLayout(
        artifact["layout"]["n_numeric"], tuple(artifact["layout"]["cardinalities"])
    )
    model = build_model(artifact["name"], layout, artifact["tasks"], artifact["params"])
    model.load_state_dict(artifact["runs"][run]["state_dict"])
    return model.eval()
