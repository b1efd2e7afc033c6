"""Fitting a blend (``census_mtl.models.blend``): its network, then the GBDT's weight of each task
and seed, chosen on the validation rows."""

from __future__ import annotations

import statistics
from collections.abc import Mapping

import pandas as pd

from census_mtl.config import BlendParams
from census_mtl.metrics import validation_scores
from census_mtl.models import ModelArtifact, TrainedRun
from census_mtl.models.blend import choose_weights, mix, weight_grid
from census_mtl.models.checks import ArtifactError
from census_mtl.training.data import TensorData


def pick_network(networks: Mapping[str, ModelArtifact], choice: str) -> ModelArtifact:
    """The network ``choice`` names, or (``best``) the one with the highest validation score,
    the mean over its tasks and seeds."""
    if choice != "best":
        return networks[choice]
    return max(
        networks.values(),
        key=lambda m: statistics.fmean(v for r in m.runs for v in r.validation_auc.values()),
    )


def check_members(gbdt: ModelArtifact, network: ModelArtifact) -> None:
    """Both members were trained on the same tasks, input and seeds."""
    seeds = [[r.seed for r in m.runs] for m in (gbdt, network)]
    problems = [
        f"{what} (gbdt {a}, {network.name} {b})"
        for what, a, b in (("tasks", list(gbdt.tasks), list(network.tasks)), ("seeds", *seeds))
        if a != b
    ]
    problems += ["input layout"] if gbdt.layout != network.layout else []
    if problems:
        raise ArtifactError(
            f"the blend's members differ in {'; '.join(problems)}; train both on the same "
            "model input and training_defaults.seeds."
        )


def blend_run(
    gbdt: ModelArtifact, network: ModelArtifact, i: int, validation: TensorData, step: float
) -> tuple[TrainedRun, list[dict]]:
    """The ``i``-th seed's blend, with every weight's validation score per task: a run that
    carries its network's weights and epochs, the GBDT's boosters, and both training times."""
    tasks, types = list(gbdt.tasks), gbdt.types
    trees, net = gbdt.predictor(i)(validation.x), network.predictor(i)(validation.x)
    labels = validation.y.numpy()
    weights, scores = choose_weights(labels, trees.numpy(), net.numpy(), types, step)
    chosen = mix(trees, net, validation.y.new_tensor(weights))
    g, n = gbdt.runs[i], network.runs[i]
    run = TrainedRun(
        seed=n.seed,
        best_epoch=n.best_epoch,
        epochs=n.epochs,
        seconds_per_epoch=n.seconds_per_epoch,
        validation_auc=validation_scores(validation.y, chosen, tasks, types),
        state_dict=n.state_dict,
        boosters=g.boosters,
        train_seconds=g.train_seconds + n.train_seconds,
        weights=dict(zip(tasks, weights, strict=True)),
    )
    rows = [
        {"seed": n.seed, "task": task, "gbdt_weight": float(w), "validation_score": score}
        for task, task_scores in zip(tasks, scores, strict=True)
        for w, score in zip(weight_grid(step), task_scores, strict=True)
    ]
    return run, rows


def fit_blend(
    gbdt: ModelArtifact, network: ModelArtifact, validation: TensorData, params: BlendParams
) -> tuple[ModelArtifact, pd.DataFrame]:
    """The blend of ``gbdt`` and ``network``, seed by seed, and its weights' scores."""
    check_members(gbdt, network)
    fitted = [
        blend_run(gbdt, network, i, validation, params.weight_step) for i in range(len(gbdt.runs))
    ]
    artifact = ModelArtifact(
        params.model_copy(update={"network": network.name}),
        gbdt.tasks,
        gbdt.encoder,
        gbdt.layout,
        tuple(run for run, _ in fitted),
        gbdt.types,
        network.spaces,
        {"gbdt": gbdt.params, "network": network.params},
    )
    return artifact, pd.DataFrame([row for _, rows in fitted for row in rows])
