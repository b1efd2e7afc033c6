"""``compare``: the last step of ``__default__``, after every model's evaluation."""

from collections.abc import Iterable

from kedro.pipeline import Node, Pipeline

from census_mtl.pipelines.compare.nodes import KINDS, compare_models


def create_pipeline(models: Iterable[str]) -> Pipeline:
    inputs = {f"{m}.{kind}": f"{m}.{kind}" for m in models for kind in KINDS}
    return Pipeline(
        [
            Node(
                compare_models,
                {
                    "compare": "params:compare",
                    "model_input_test": "model_input_test",
                    "run_info": "run_info",
                    **inputs,
                },
                [
                    "compare_metrics",
                    "compare_table",
                    "paired_comparisons",
                    "compare_report_md",
                    "compare_report_html",
                    "figure_auc_by_model",
                    "figure_roc_curves",
                    "figure_training_curves",
                    "figure_gate_weights",
                    "figure_conflict",
                ],
                name="compare_models",
            )
        ]
    )
