"""``relatedness``: the MMoE paper's synthetic task-relatedness benchmark (section 5.1)."""

from census_mtl.pipelines.relatedness.pipeline import create_pipeline

__all__ = ["create_pipeline"]
