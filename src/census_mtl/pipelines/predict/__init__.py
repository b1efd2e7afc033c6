"""``predict``: score a census-format file with a trained model (it carries its encoder)."""

from census_mtl.pipelines.predict.pipeline import create_pipeline

__all__ = ["create_pipeline"]
