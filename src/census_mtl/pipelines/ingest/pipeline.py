"""The ``ingest`` pipeline: raw UCI files to validated Parquet tables."""

from kedro.pipeline import Pipeline, node, pipeline

from census_mtl.pipelines.ingest.nodes import validate_test, validate_train


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(validate_train, "raw_train", "census_train", name="validate_train"),
            node(validate_test, "raw_test", "census_test", name="validate_test"),
        ]
    )
