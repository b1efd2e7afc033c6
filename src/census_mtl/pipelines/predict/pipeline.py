"""``kedro run --pipelines predict --params predict_input=FILE,predict_model=ple``."""

from kedro.pipeline import Node, Pipeline

from census_mtl.pipelines.predict.nodes import predict_file


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                predict_file,
                ["predict_input", "predict_model", "params:predict"],
                ["predictions", "prediction_bad_rows"],
                name="predict_file",
            )
        ]
    )
