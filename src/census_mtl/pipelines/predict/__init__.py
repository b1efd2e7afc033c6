"""``predict``: score a census-format file with the saved preprocessor and a trained model."""

from census_mtl.pipelines.predict.pipeline import create_pipeline

__all__ = ["create_pipeline"]
