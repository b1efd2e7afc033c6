"""``relatedness``: synthetic pairs → every network, every seed → report (not in __default__)."""

from kedro.pipeline import Node, Pipeline

from census_mtl.pipelines.relatedness.nodes import (
    make_task_pairs,
    report_relatedness,
    train_networks,
)


def create_pipeline() -> Pipeline:
    return Pipeline(
        [
            Node(make_task_pairs, "params:relatedness", "relatedness_pairs", name="task_pairs"),
            Node(
                train_networks,
                ["relatedness_pairs", "params:relatedness", "params:training_defaults"],
                ["relatedness_results", "relatedness_predictions"],
                name="train_networks",
            ),
            Node(
                report_relatedness,
                [
                    "relatedness_results",
                    "relatedness_predictions",
                    "relatedness_pairs",
                    "params:relatedness",
                    "params:compare",
                    "run_info",
                ],
                [
                    "relatedness_summary",
                    "relatedness_paired",
                    "relatedness_metrics",
                    "figure_relatedness",
                    "relatedness_report",
                ],
                name="report_relatedness",
            ),
        ]
    )
