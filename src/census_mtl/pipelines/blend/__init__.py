"""``train_blend``: the GBDT and a trained network, mixed per task with weights from validation."""

from census_mtl.pipelines.blend.pipeline import create_pipeline

__all__ = ["create_pipeline"]
