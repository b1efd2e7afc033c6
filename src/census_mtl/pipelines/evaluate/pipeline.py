"""``evaluate_<model>``: the evaluation template, namespaced per model like training."""

from kedro.pipeline import Node, Pipeline

from census_mtl.pipelines.evaluate.nodes import auc_by_task, evaluate_model


def create_pipeline(namespace: str) -> Pipeline:
    """Evaluate ``<namespace>.model`` on the shared test split."""
    template = Node(
        evaluate_model,
        ["model", "model_input_test", "feature_layout", "params:evaluation"],
        ["test_metrics", "roc_curve", "pr_curve", "test_predictions"],
        name="evaluate",
    )
    summary = Node(auc_by_task, "test_metrics", "test_auc", name="test_auc")
    return Pipeline(
        [template, summary],
        namespace=namespace,
        inputs={"model_input_test", "feature_layout"},
        parameters={"params:evaluation"},
    )
