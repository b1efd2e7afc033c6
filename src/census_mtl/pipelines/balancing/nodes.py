"""Nodes of the balancing study: a setting's data, its grid of trainings, its tables, and the
report across settings."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

import pandas as pd
from matplotlib.figure import Figure

from census_mtl.config import ModelParams, Training, training_settings, validate
from census_mtl.config.project import Compare
from census_mtl.config.relatedness import Relatedness
from census_mtl.config.study import BalancingStudy
from census_mtl.models.registry import model_params
from census_mtl.reporting import balancing_report as words
from census_mtl.reporting.balancing import setting_tables
from census_mtl.reporting.render import provenance
from census_mtl.training.checkpoints import Checkpoints
from census_mtl.training.data import TensorData, to_tensors, training_inputs
from census_mtl.training.grid import Job, StudyData, run_grid
from census_mtl.training.relatedness import TASKS, split_tensors, task_pairs

logger = logging.getLogger(__name__)
BASELINE = "single_task"


def study_jobs(
    study: BalancingStudy, sections: Mapping[str, tuple[ModelParams, Training]]
) -> list[Job]:
    """Each network with each method and seed, then single-task (``equal``) with each seed:
    ``sections`` gives each network's parameters and training settings."""
    jobs = []
    for network in [*study.networks, BASELINE]:
        params, training = sections[network]
        methods = study.methods if network != BASELINE else ["equal"]
        # compile: auto would compile `equal` alone (the fused step): the methods' seconds
        # compare only on one kind of step, so the study trains them all eagerly
        step = {"compile": False} if training.compile == "auto" else {}
        for method in methods:
            balancing = training.balancing.model_copy(update={"method": method})
            settings = training.model_copy(update={"balancing": balancing, **step})
            jobs += [Job(network, params, method, settings, seed) for seed in study.seeds]
    return jobs


def census_setting(
    model_input_train: pd.DataFrame,
    model_input_validation: pd.DataFrame,
    model_input_test: pd.DataFrame,
    feature_layout: dict,
    task_settings: dict,
    balancing_study: dict,
) -> list[StudyData]:
    """The environment's model input as the study's one setting (``balancing_study.setting``)."""
    data = training_inputs(model_input_train, model_input_validation, feature_layout, task_settings)
    test = to_tensors(model_input_test, data.tasks, data.layout)
    name = validate(BalancingStudy, balancing_study, "balancing_study").setting
    return [
        StudyData(
            name,
            tuple(data.tasks),
            tuple(data.types),
            data.layout,
            data.train,
            data.validation,
            test,
            data.spaces,
        )
    ]


def census_jobs(
    balancing_data: list[StudyData], balancing_study: dict, parameters: dict
) -> list[Job]:
    """The study's trainings, each network with its own model section of the parameters."""
    study = validate(BalancingStudy, balancing_study, "balancing_study")
    tasks = list(balancing_data[0].tasks)
    sections = {
        network: (
            model_params(network, parameters[network]["model"]),
            training_settings(
                parameters["training_defaults"], parameters[network]["training"], tasks=tasks
            ),
        )
        for network in [*study.networks, BASELINE]
    }
    return study_jobs(study, sections)


def relatedness_settings(relatedness: dict, balancing_study: dict) -> list[StudyData]:
    """The task-relatedness pairs at the study's correlations, a setting each."""
    study = validate(BalancingStudy, balancing_study, "balancing_study")
    spec = validate(Relatedness, relatedness, "relatedness").model_copy(
        update={"correlations": study.correlations}
    )
    pairs = task_pairs(spec)
    settings = []
    for correlation in study.correlations:
        split: dict[str, TensorData] = split_tensors(pairs, correlation)
        settings.append(
            StudyData(
                f"relatedness_{correlation:+.2f}",
                TASKS,
                ("regression",) * len(TASKS),
                spec.data.dim,
                split["train"],
                split["validation"],
                split["test"],
            )
        )
    return settings


def relatedness_jobs(
    relatedness: dict, balancing_study: dict, training_defaults: dict
) -> list[Job]:
    """The study's trainings with the relatedness benchmark's networks and training."""
    study = validate(BalancingStudy, balancing_study, "balancing_study")
    spec = validate(Relatedness, relatedness, "relatedness")
    training = training_settings(training_defaults, spec.training, tasks=list(TASKS))
    sections = {n: (getattr(spec.models, n), training) for n in [*study.networks, BASELINE]}
    return study_jobs(study, sections)


def train_study(
    balancing_data: list[StudyData],
    balancing_jobs: list[Job],
    balancing_runs: Checkpoints,
    balancing_study: dict,
) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """Every training on every setting (finished ones kept in ``balancing_runs``): per setting,
    the trainings' facts and their test outputs."""
    workers = validate(BalancingStudy, balancing_study, "balancing_study").workers
    results, predictions = {}, {}
    for data in balancing_data:
        logger.info("Balancing study, %s: %d trainings", data.setting, len(balancing_jobs))
        folder = balancing_runs.folder / data.setting
        results[data.setting], predictions[data.setting] = run_grid(
            balancing_jobs, data, folder, workers
        )
    return results, predictions


def tabulate_study(
    balancing_data: list[StudyData],
    balancing_results: Mapping[str, Callable],
    balancing_predictions: Mapping[str, Callable],
    balancing_study: dict,
    compare: dict,
) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """Each setting just trained, on its own: seed scores, Δm (with conflict and cost) and the
    paired tests. The report reads these tables, never the predictions, which hold the test
    labels and so stay out of git."""
    study = validate(BalancingStudy, balancing_study, "balancing_study")
    alpha = validate(Compare, compare, "compare").alpha
    tables = {
        data.setting: setting_tables(
            balancing_results[data.setting](),
            balancing_predictions[data.setting](),
            study.bootstrap_samples,
            alpha,
        )
        for data in balancing_data
    }
    scores, gains, paired = ({s: t[k] for s, t in tables.items()} for k in range(3))
    return scores, gains, paired


def report_study(
    balancing_setting_scores: Mapping[str, Callable],
    balancing_setting_delta_m: Mapping[str, Callable],
    balancing_setting_verdicts: Mapping[str, Callable],
    balancing_study: dict,
    run_info: dict,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict, Figure, str]:
    """Every setting the study has tabulated, side by side: seed scores, Δm, paired verdicts,
    DVC metrics, the Δm figure and the report."""
    study = validate(BalancingStudy, balancing_study, "balancing_study")
    scores, gains, paired, findings, tables = [], [], [], {}, {}
    for setting in sorted(balancing_setting_scores):
        frames = [
            partitions[setting]().assign(setting=setting)
            for partitions in (
                balancing_setting_scores,
                balancing_setting_delta_m,
                balancing_setting_verdicts,
            )
        ]
        findings[setting] = words.setting_findings(*frames[1:], study.networks)
        tables[setting] = words.setting_table(*frames)
        for frame, into in zip(frames, (scores, gains, paired), strict=True):
            into.append(frame)
    scores, gains, paired = (pd.concat(f, ignore_index=True) for f in (scores, gains, paired))
    header = [
        "# Task balancing: each method against equal, and the gain over single-task",
        "",
        f"*{provenance(run_info | {'data': ', '.join(findings)}, study.seeds)}*",
    ]
    page = words.markdown(header, findings, tables)
    figure = words.delta_m_figure(gains, study.networks)
    return scores, gains, paired, metrics_of(scores, gains), figure, page


def metrics_of(scores: pd.DataFrame, gains: pd.DataFrame) -> dict:
    """DVC metrics: per setting and model, Δm and each task's mean test score."""
    metrics: dict = {}
    for row in gains.itertuples():
        metrics.setdefault(row.setting, {})[row.model] = {"delta_m": row.delta_m}
    for row in scores.itertuples():
        metrics.setdefault(row.setting, {}).setdefault(row.model, {})[row.task] = row.mean
    return metrics
