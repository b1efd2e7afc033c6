"""The balancing study's pipelines (none in ``__default__``: hundreds of trainings each)."""

from kedro.pipeline import Node, Pipeline

from census_mtl.pipelines.balancing.nodes import (
    census_jobs,
    census_setting,
    relatedness_jobs,
    relatedness_settings,
    report_study,
    tabulate_study,
    train_study,
)

_TABLES = ["balancing_setting_scores", "balancing_setting_delta_m", "balancing_setting_verdicts"]

_TRAIN = Node(
    train_study,
    ["balancing_data", "balancing_jobs", "balancing_runs", "params:balancing_study"],
    ["balancing_results", "balancing_predictions"],
    name="train_study",
)
_TABULATE = Node(
    tabulate_study,
    [
        "balancing_data",
        "balancing_results",
        "balancing_predictions",
        "params:balancing_study",
        "params:compare",
    ],
    _TABLES,
    name="tabulate_study",
)


def _study(make_data, data_inputs: list[str], make_jobs, job_inputs: list[str]) -> Pipeline:
    """A setting's data, the grid of its trainings, the trainings, and their tables."""
    return Pipeline(
        [
            Node(make_data, data_inputs, "balancing_data", name=make_data.__name__),
            Node(make_jobs, job_inputs, "balancing_jobs", name=make_jobs.__name__),
            _TRAIN,
            _TABULATE,
        ]
    )


def create_census_pipeline() -> Pipeline:
    """``balancing``: the environment's model input (census, scarce, funnel) as one setting."""
    inputs = ["model_input_train", "model_input_validation", "model_input_test"]
    inputs += ["feature_layout", "params:preprocess.tasks", "params:balancing_study"]
    jobs = ["balancing_data", "params:balancing_study", "parameters"]
    return _study(census_setting, inputs, census_jobs, jobs)


def create_relatedness_pipeline() -> Pipeline:
    """``balancing_relatedness``: the synthetic task pairs at ``balancing_study.correlations``."""
    study = ["params:relatedness", "params:balancing_study"]
    return _study(
        relatedness_settings, study, relatedness_jobs, [*study, "params:training_defaults"]
    )


def create_report_pipeline() -> Pipeline:
    """``balancing_report``: every setting's tables under the study's root, side by side."""
    return Pipeline(
        [
            Node(
                report_study,
                [*_TABLES, "params:balancing_study", "run_info"],
                [
                    "balancing_scores",
                    "balancing_delta_m",
                    "balancing_verdicts",
                    "balancing_metrics",
                    "figure_balancing",
                    "balancing_report",
                ],
                name="report_study",
            )
        ]
    )
