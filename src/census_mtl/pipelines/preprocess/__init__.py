"""Define the tasks, split validation from test, encode features for the models."""

from census_mtl.pipelines.preprocess.pipeline import create_pipeline

__all__ = ["create_pipeline"]
