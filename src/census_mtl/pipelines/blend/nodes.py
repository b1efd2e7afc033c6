"""The blend's node: the trained models and the validation rows to the blend's model file."""

from __future__ import annotations

import statistics

import pandas as pd

from census_mtl.config import BlendParams, validate
from census_mtl.models import FeatureLayout, ModelArtifact
from census_mtl.training.blend import fit_blend, pick_network
from census_mtl.training.data import to_tensors


def train_blend(
    model_input_validation: pd.DataFrame,
    feature_layout: dict,
    blend: dict,
    gbdt: ModelArtifact,
    **networks: ModelArtifact,
) -> tuple[ModelArtifact, pd.DataFrame, dict]:
    """The blend of ``gbdt`` and the network ``blend.network`` names (or the best on
    validation), its weights' validation scores, and a summary."""
    params = validate(BlendParams, blend, "blend.model")
    layout = FeatureLayout.from_dict(feature_layout)
    validation = to_tensors(model_input_validation, list(gbdt.tasks), layout)
    artifact, history = fit_blend(gbdt, pick_network(networks, params.network), validation, params)
    summary = {
        "model": artifact.name,
        "network": artifact.params.network,
        "parameters": artifact.size(),
        "seconds_per_epoch": statistics.median(r.seconds_per_epoch for r in artifact.runs),
        "train_seconds": statistics.fmean(r.train_seconds for r in artifact.runs),
        "runs": [run.facts() for run in artifact.runs],
    }
    return artifact, history, summary
