"""``train_blend``: after every model's training, the blend under the ``blend`` namespace."""

from kedro.pipeline import Node, Pipeline

from census_mtl.config import NETWORKS
from census_mtl.pipelines.blend.nodes import train_blend


def create_pipeline() -> Pipeline:
    """Reads every trained model (``best`` compares the networks), writes ``blend.model``."""
    inputs = {
        "model_input_validation": "model_input_validation",
        "feature_layout": "feature_layout",
        "blend": "params:blend.model",
        "gbdt": "gbdt.model",
    }
    inputs |= {name: f"{name}.model" for name in NETWORKS}
    outputs = ["blend.model", "blend.training_history", "blend.training_metrics"]
    return Pipeline([Node(train_blend, inputs, outputs, name="train", namespace="blend")])
