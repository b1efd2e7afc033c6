"""Multi-task networks in pure PyTorch: ``build_model(name, input_dim, tasks, params)``."""

from census_mtl.models.inputs import FeatureLayout
from census_mtl.models.registry import MODEL_NAMES, build_model

__all__ = ["MODEL_NAMES", "FeatureLayout", "build_model"]
