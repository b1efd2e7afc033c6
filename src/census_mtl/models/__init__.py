"""Multi-task networks in pure PyTorch: ``build_model(name, input_dim, tasks, params)``."""

from census_mtl.config import MODEL_NAMES
from census_mtl.models.artifact import ArtifactError, ModelArtifact, TrainedRun
from census_mtl.models.inputs import FeatureLayout
from census_mtl.models.prediction import predict
from census_mtl.models.registry import build_model

__all__ = [
    "MODEL_NAMES",
    "ArtifactError",
    "FeatureLayout",
    "ModelArtifact",
    "TrainedRun",
    "build_model",
    "predict",
]
