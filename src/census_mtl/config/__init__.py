"""Every setting of the project, declared once: type, default, range and meaning.

``validate_params`` checks a run's parameters before any work starts (the project's hook does
it for every Kedro command); ``python -m census_mtl check-config`` runs it alone.
"""

from census_mtl.config.base import ConfigError, Settings, merge_settings, validate
from census_mtl.config.network import (
    MODEL_NAMES,
    MODELS,
    NETWORKS,
    BlendParams,
    GBDTParams,
    ModelParams,
    NetworkParams,
)
from census_mtl.config.project import Params, training_settings, validate_params
from census_mtl.config.training import Training
from census_mtl.config.tuning import SearchSpace, Tuning

__all__ = [
    "MODELS",
    "MODEL_NAMES",
    "NETWORKS",
    "BlendParams",
    "ConfigError",
    "GBDTParams",
    "ModelParams",
    "NetworkParams",
    "Params",
    "SearchSpace",
    "Settings",
    "Training",
    "Tuning",
    "merge_settings",
    "training_settings",
    "validate",
    "validate_params",
]
