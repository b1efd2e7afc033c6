"""Kedro datasets of the project: checked raw files, trained models (no pickle), checkpoints."""

from census_mtl.datasets.checkpoints import CheckpointsDataset
from census_mtl.datasets.lines import CensusLinesDataset
from census_mtl.datasets.model import ModelArtifactDataset
from census_mtl.datasets.raw import RawCensusDataset

__all__ = ["CensusLinesDataset", "CheckpointsDataset", "ModelArtifactDataset", "RawCensusDataset"]
