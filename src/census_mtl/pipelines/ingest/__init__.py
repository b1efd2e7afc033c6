"""Load the raw UCI files, name and validate their 42 columns, keep them as typed tables."""

from census_mtl.pipelines.ingest.pipeline import create_pipeline

__all__ = ["create_pipeline"]
