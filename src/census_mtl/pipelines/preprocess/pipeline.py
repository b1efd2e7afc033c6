"""The ``preprocess`` pipeline: validated tables to model input."""

from kedro.pipeline import Node, Pipeline

from census_mtl.pipelines.preprocess.nodes import (
    build_model_input,
    build_train_input,
    data_report,
    feature_layout,
    fit_preprocessor,
    split_validation_test,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                split_validation_test,
                ["census_test", "params:preprocess.split"],
                ["validation_table", "test_table"],
                name="split_validation_test",
            ),
            Node(
                fit_preprocessor,
                ["census_train", "params:preprocess"],
                "preprocessor",
                name="fit_preprocessor",
            ),
            Node(feature_layout, "preprocessor", "feature_layout", name="feature_layout"),
            *(
                Node(
                    build,
                    [table, "preprocessor", "params:preprocess"],
                    f"model_input_{split}",
                    name=f"build_model_input_{split}",
                )
                for split, table, build in [
                    ("train", "census_train", build_train_input),
                    ("validation", "validation_table", build_model_input),
                    ("test", "test_table", build_model_input),
                ]
            ),
            Node(
                data_report,
                [
                    "model_input_train",
                    "model_input_validation",
                    "model_input_test",
                    "feature_layout",
                ],
                "data_report",
                name="data_report",
            ),
        ]
    )
