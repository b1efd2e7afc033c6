"""``scarce`` (``kedro run --env scarce --pipelines scarce``): after one run per fraction, the
study across fractions. Not in ``__default__``: it reads other runs' reports."""

from kedro.pipeline import Node, Pipeline

from census_mtl.pipelines.scarce.nodes import (
    fraction_verdicts,
    report_fractions,
    summarise_fractions,
)


def create_pipeline() -> Pipeline:
    return Pipeline(
        [
            Node(
                summarise_fractions,
                [
                    "scarce_tables",
                    "scarce_data_reports",
                    "full_labels_compare_table",
                    "full_labels_data_report",
                    "params:preprocess",
                ],
                "scarce_summary",
                name="summarise_fractions",
            ),
            Node(
                fraction_verdicts,
                [
                    "scarce_paired",
                    "scarce_data_reports",
                    "full_labels_paired_comparisons",
                    "full_labels_data_report",
                    "params:preprocess",
                    "params:compare",
                ],
                "scarce_verdicts",
                name="fraction_verdicts",
            ),
            Node(
                report_fractions,
                [
                    "scarce_summary",
                    "scarce_verdicts",
                    "params:preprocess",
                    "params:compare",
                    "run_info",
                ],
                ["scarce_metrics", "figure_scarce", "scarce_report"],
                name="report_fractions",
            ),
        ]
    )
