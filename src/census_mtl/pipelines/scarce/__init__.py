"""``scarce``: test AUC of every model against the share of one task's training labels."""

from census_mtl.pipelines.scarce.pipeline import create_pipeline

__all__ = ["create_pipeline"]
