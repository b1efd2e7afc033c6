"""``tune_<model>``: an Optuna study over a model's expert, gate and training sizes."""

from census_mtl.pipelines.tune.pipeline import create_pipeline

__all__ = ["create_pipeline"]
