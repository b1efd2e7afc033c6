"""The ``ingest`` pipeline: raw UCI files to validated Parquet tables."""

from kedro.pipeline import Node, Pipeline

from census_mtl.pipelines.ingest.nodes import validate_test, validate_train


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(validate_train, "raw_train", "census_train", name="validate_train"),
            Node(validate_test, "raw_test", "census_test", name="validate_test"),
        ]
    )
