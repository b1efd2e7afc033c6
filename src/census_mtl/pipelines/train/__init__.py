"""The training template, instantiated once per model under the model's namespace."""

from census_mtl.pipelines.train.pipeline import create_pipeline

__all__ = ["create_pipeline"]
