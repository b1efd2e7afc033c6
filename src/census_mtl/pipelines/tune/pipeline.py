"""``tune_<model>``: one tuning template, namespaced per model like training."""

from kedro.pipeline import Node, Pipeline

from census_mtl.pipelines.tune.nodes import importance_figure, tune_model

TUNABLE = ("ple", "cgc", "mmoe", "share_bottom", "esmm", "aitm", "gbdt")


def create_pipeline(namespace: str) -> Pipeline:
    """Tune ``namespace`` with the search space ``tuning_spaces.<namespace>``."""
    template = Pipeline(
        [
            Node(
                tune_model,
                [
                    "model_input_train",
                    "model_input_validation",
                    "feature_layout",
                    "params:model",
                    "params:training",
                    "params:training_defaults",
                    "params:tuning",
                    "params:search_space",
                    "params:preprocess.tasks",
                ],
                [
                    "best_params",
                    "tuning_trials",
                    "tuning_importances",
                    "tuning_history_plot",
                    "tuning_coordinates_plot",
                ],
                name="tune",
            ),
            Node(
                importance_figure,
                "tuning_importances",
                "tuning_importance_figure",
                name="importance_figure",
            ),
        ]
    )
    return Pipeline(
        template,
        namespace=namespace,
        inputs={"model_input_train", "model_input_validation", "feature_layout"},
        parameters={
            "params:training_defaults": "params:training_defaults",
            "params:tuning": "params:tuning",
            "params:search_space": f"params:tuning_spaces.{namespace}",
            "params:preprocess.tasks": "params:preprocess.tasks",
        },
    )
