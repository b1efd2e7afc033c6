"""Kedro datasets of the project: trained models (no pickle) and checkpoint folders."""

from census_mtl.datasets.checkpoints import CheckpointsDataset
from census_mtl.datasets.model import ModelArtifactDataset

__all__ = ["CheckpointsDataset", "ModelArtifactDataset"]
