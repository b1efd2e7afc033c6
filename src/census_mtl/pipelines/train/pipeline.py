"""``train_<model>``: one training template, namespaced per model (``ple.model``, ...)."""

from kedro.pipeline import Node, Pipeline

from census_mtl.pipelines.train.nodes import train_model

SHARED_INPUTS = {"model_input_train", "model_input_validation", "feature_layout", "preprocessor"}


def create_pipeline(namespace: str) -> Pipeline:
    """The template under ``namespace``; the model input and ``training_defaults`` stay shared.

    ``checkpoints`` becomes ``<namespace>.checkpoints``: the catalog derives its folder from the
    model's name.
    """
    template = Node(
        train_model,
        [
            "model_input_train",
            "model_input_validation",
            "feature_layout",
            "preprocessor",
            "checkpoints",
            "params:model",
            "params:training",
            "params:training_defaults",
            "params:preprocess.tasks",
        ],
        ["model", "training_history", "training_metrics"],
        name="train",
    )
    return Pipeline(
        [template],
        namespace=namespace,
        inputs=SHARED_INPUTS,
        parameters={"params:training_defaults", "params:preprocess.tasks"},
    )
