"""Compare every trained model in one report (Markdown, HTML, PNG figures, CSV table)."""

from census_mtl.pipelines.compare.pipeline import create_pipeline

__all__ = ["create_pipeline"]
