"""Score each trained model on the test split: metrics, curves, throughput, size."""

from census_mtl.pipelines.evaluate.pipeline import create_pipeline

__all__ = ["create_pipeline"]
