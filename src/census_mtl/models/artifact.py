"""A trained model as plain data: weights plus what rebuilds it (no pickled class)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from census_mtl.models.inputs import FeatureLayout
from census_mtl.models.registry import build_model


def to_artifact(
    name: str, params: Mapping, tasks: Sequence[str], layout: FeatureLayout, state: Mapping
) -> dict:
    """A dict of built-in types and CPU tensors that ``from_artifact`` turns back into a model."""
    return {
        "name": name,
        "params": dict(params),
        "tasks": list(tasks),
        "layout": {"n_numeric": layout.n_numeric, "cardinalities": list(layout.cardinalities)},
        "state_dict": {k: v.detach().cpu() for k, v in state.items()},
    }


def from_artifact(artifact: Mapping) -> torch.nn.Module:
    """Rebuild the model of ``to_artifact`` in evaluation mode."""
    layout = FeatureLayout(
        artifact["layout"]["n_numeric"], tuple(artifact["layout"]["cardinalities"])
    )
    model = build_model(artifact["name"], layout, artifact["tasks"], artifact["params"])
    model.load_state_dict(artifact["state_dict"])
    return model.eval()
