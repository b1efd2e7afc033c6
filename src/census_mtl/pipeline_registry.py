"""Project pipelines: ingest, preprocess, train_<model>, <model>, blend, __default__, predict,
tune_<model>, relatedness, scarce and the balancing study's three."""

from __future__ import annotations

import warnings

from kedro.pipeline import Pipeline

from census_mtl.models import MODEL_NAMES
from census_mtl.pipelines import (
    balancing,
    blend,
    compare,
    evaluate,
    ingest,
    predict,
    preprocess,
    relatedness,
    scarce,
    train,
    tune,
)
from census_mtl.pipelines.tune.pipeline import TUNABLE


def register_pipelines() -> dict[str, Pipeline]:
    """Each model's pipeline is data preparation plus its namespaced training and evaluation."""
    data = {"ingest": ingest.create_pipeline(), "preprocess": preprocess.create_pipeline()}
    prepare = data["ingest"] + data["preprocess"]
    pipelines: dict[str, Pipeline] = dict(data)
    for model in MODEL_NAMES:
        pipelines[f"train_{model}"] = train.create_pipeline(model)
        pipelines[f"evaluate_{model}"] = evaluate.create_pipeline(model)
        pipelines[model] = prepare + pipelines[f"train_{model}"] + pipelines[f"evaluate_{model}"]
    with warnings.catch_warnings():
        # blend and compare read every model's namespaced outputs (ple.model, ...) by their full
        # names, as namespaces intend; Kedro warns about any "." in a node's dataset names.
        warnings.filterwarnings("ignore", message="One or more dataset names contain '.'")
        pipelines["train_blend"] = blend.create_pipeline()  # after every model's training
        pipelines["evaluate_blend"] = evaluate.create_pipeline("blend")
        pipelines["blend"] = pipelines["train_blend"] + pipelines["evaluate_blend"]
        pipelines["compare"] = compare.create_pipeline((*MODEL_NAMES, "blend"))
    pipelines["__default__"] = sum(pipelines.values(), Pipeline([]))
    pipelines["predict"] = predict.create_pipeline()  # not part of __default__ either
    pipelines["relatedness"] = relatedness.create_pipeline()  # synthetic: its own DVC stage
    pipelines["scarce"] = scarce.create_pipeline()  # --env scarce, after one run per fraction
    pipelines["balancing"] = balancing.create_census_pipeline()  # the environment's census data
    pipelines["balancing_relatedness"] = balancing.create_relatedness_pipeline()
    pipelines["balancing_report"] = balancing.create_report_pipeline()
    for model in TUNABLE:  # not part of __default__
        pipelines[f"tune_{model}"] = tune.create_pipeline(model)
    return pipelines
