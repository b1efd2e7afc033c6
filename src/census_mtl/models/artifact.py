"""A trained model: what rebuilds it, plus one trained instance per seed.

``ModelArtifact`` is frozen and typed: the fitted feature encoder it was trained behind (so
scoring a raw file needs only the model), and a network's weights per seed or a GBDT's LightGBM
text models per seed and task; a blend holds both, its members' parameters and its weights.
``to_payload``/``from_payload`` turn it into JSON text, tensors and LightGBM text (no class of
the project inside), which ``ModelArtifactDataset`` stores with ``torch.save`` and loads with
``weights_only=True``: loading a model never runs code.
"""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import torch

from census_mtl.atomic import write_bytes
from census_mtl.config import NETWORKS, BlendParams, ModelParams, validate
from census_mtl.config.training import INFERENCE_BATCH
from census_mtl.errors import first_line
from census_mtl.features import EncoderError, FeatureEncoder, layout_of
from census_mtl.models.blend import mix
from census_mtl.models.checks import (
    ArtifactError,
    check_archive,
    check_blend_weights,
    check_booster,
    check_weights,
)
from census_mtl.models.gbdt import BoostedTrees, tree_columns
from census_mtl.models.inputs import FeatureLayout
from census_mtl.models.prediction import predict
from census_mtl.models.registry import build_model, model_params

FORMAT = "census-mtl model v2"  # v2: the encoder inside
BLEND = "blend"


def check_encoder(encoder: FeatureEncoder, layout: FeatureLayout) -> None:
    """Raise ``ArtifactError`` unless ``encoder`` writes the input ``layout`` describes."""
    if FeatureLayout.from_dict(layout_of(encoder)) != layout:
        raise ArtifactError(
            "the preprocessor does not write the model input's layout (preprocessor.json and "
            "feature_layout.json come from different preprocess runs); rerun preprocess."
        )


@dataclass(frozen=True)
class TrainedRun:
    """One trained instance: its seed, best epoch and validation score per task (AUC, or R² of
    a regression task; ``validation_auc`` for the files' sake), and what it learned:
    a network's ``state_dict``, or a GBDT's LightGBM text model per task (``boosters``), or
    both with a blend's GBDT weight per task (``weights``)."""

    seed: int
    best_epoch: int
    epochs: int
    seconds_per_epoch: float
    validation_auc: dict[str, float]
    state_dict: dict[str, torch.Tensor] = field(default_factory=dict)
    boosters: dict[str, str] = field(default_factory=dict)
    train_seconds: float = 0.0
    weights: dict[str, float] = field(default_factory=dict)

    def facts(self) -> dict:
        """Everything but the weights and boosters, as plain data."""
        return {k: v for k, v in asdict(self).items() if k not in ("state_dict", "boosters")}


@dataclass(frozen=True)
class ModelArtifact:
    """A model's name, parameters, tasks, feature encoder and input layout, its runs, and
    each task's type (``binary`` or ``regression``; none given: all binary); a blend's
    ``members``: the parameters of its ``gbdt`` and its ``network``."""

    params: ModelParams | BlendParams
    tasks: tuple[str, ...]
    encoder: FeatureEncoder
    layout: FeatureLayout
    runs: tuple[TrainedRun, ...]
    task_types: tuple[str, ...] = ()
    spaces: Mapping[str, str] = field(default_factory=dict)  # funnel step -> the step before
    members: Mapping[str, ModelParams] = field(default_factory=dict)

    @property
    def types(self) -> tuple[str, ...]:
        return self.task_types or ("binary",) * len(self.tasks)

    def __post_init__(self) -> None:
        check_encoder(self.encoder, self.layout)

    @property
    def name(self) -> str:
        return self.params.name

    @property
    def is_network(self) -> bool:
        return self.name in NETWORKS

    @property
    def network_params(self) -> ModelParams | BlendParams:
        """The parameters of the network inside: a blend's member, or the model's own."""
        return self.members.get("network", self.params)

    def network(self, run: int = 0) -> torch.nn.Module:
        """The ``run``-th trained network (a blend's member), rebuilt, in evaluation mode."""
        params = self.network_params
        if params.name not in NETWORKS:
            raise ArtifactError(f"{self.name!r} holds no network; use predictor().")
        model = build_model(
            params.name, self.layout, list(self.tasks), params, self.types, self.spaces
        )
        model.load_state_dict(self.runs[run].state_dict)
        return model.eval()

    def predictor(self, run: int = 0):
        """A callable ``x (N, D) -> (N, tasks)`` of the ``run``-th instance: probabilities of
        binary tasks, values of regression tasks."""
        if self.is_network:
            network = self.network(run)
            return lambda x, batch_size=INFERENCE_BATCH: predict(network, x, batch_size)
        trees = BoostedTrees(self.runs[run].boosters, self.layout, self.tasks)

        def boosted(x: torch.Tensor, batch_size: int = INFERENCE_BATCH) -> torch.Tensor:
            return torch.from_numpy(trees.predict(x.cpu().numpy()))

        if self.name != BLEND:
            return boosted
        network = self.network(run)
        weights = torch.tensor([self.runs[run].weights[t] for t in self.tasks])
        return lambda x, batch_size=INFERENCE_BATCH: mix(
            boosted(x), predict(network, x, batch_size), weights
        )

    def size(self) -> int:
        """Trainable parameters of a network; leaves of a GBDT (over all its trees); a
        blend's both."""
        weights = sum(p.numel() for p in self.network().parameters()) if self.holds_network else 0
        if self.is_network:
            return weights
        return weights + BoostedTrees(self.runs[-1].boosters, self.layout, self.tasks).leaves()

    @property
    def holds_network(self) -> bool:
        """Whether there is a network inside (a network's own model or a blend's member)."""
        return self.network_params.name in NETWORKS

    def run_index(self, choice: Literal["best"] | int = "best") -> int:
        """Index of the run with the best mean validation AUC (``best``) or of a seed."""
        if choice == "best":
            return max(
                range(len(self.runs)), key=lambda i: sum(self.runs[i].validation_auc.values())
            )
        seeds = [run.seed for run in self.runs]
        if choice not in seeds:
            raise ArtifactError(f"run {choice!r}: use 'best' or one of the trained seeds {seeds}.")
        return seeds.index(choice)

    def to_payload(self) -> dict:
        """JSON text of everything but the weights, and the weights as ``run<i>.<key>``."""
        meta = {
            "format": FORMAT,
            "params": self.params.model_dump(),
            "tasks": list(self.tasks),
            "task_types": list(self.types),
            "spaces": dict(self.spaces),
            "encoder": self.encoder.to_dict(),
            "layout": self.layout.to_dict(),
            "runs": [run.facts() for run in self.runs],
            "members": {role: params.model_dump() for role, params in self.members.items()},
        }
        weights = {
            f"run{i}.{key}": value.detach().cpu().contiguous()
            for i, run in enumerate(self.runs)
            for key, value in run.state_dict.items()
        }
        boosters = {
            f"run{i}.{task}": text
            for i, run in enumerate(self.runs)
            for task, text in run.boosters.items()
        }
        return {"meta": json.dumps(meta), "weights": weights, "boosters": boosters}

    @classmethod
    def from_payload(cls, payload: Mapping) -> ModelArtifact:
        """The artifact of ``to_payload``; anything else raises ``ArtifactError``."""
        try:
            meta = json.loads(payload["meta"])
            weights = payload["weights"]
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise ArtifactError(f"not a census-mtl model ({exc!r})") from None
        if meta.get("format") != FORMAT:
            raise ArtifactError(
                f"model format {meta.get('format')!r}, not {FORMAT!r}; retrain it (`kedro run "
                "--pipelines train_<model>` reuses its finished checkpoints)."
            )
        boosters = payload.get("boosters", {})
        runs = tuple(
            TrainedRun(
                **facts,
                state_dict=_of_run(weights, i),
                boosters=_of_run(boosters, i),
            )
            for i, facts in enumerate(meta["runs"])
        )
        params = _params(meta["params"])
        members = {role: _params(p) for role, p in meta.get("members", {}).items()}
        try:
            encoder = FeatureEncoder.from_dict(meta.get("encoder"))
        except EncoderError as exc:
            raise ArtifactError(f"its encoder: {exc}") from None
        layout = FeatureLayout.from_dict(meta["layout"])
        types = tuple(meta.get("task_types", ()))  # absent in files of binary-only versions
        spaces = dict(meta.get("spaces", {}))  # absent in files of versions without funnels
        artifact = cls(params, tuple(meta["tasks"]), encoder, layout, runs, types, spaces, members)
        artifact.check_runs()
        return artifact

    def check_runs(self) -> None:
        """Every run holds what the declared model needs, checked before any of it is used:
        the network's weights (names, shapes, dtypes, finite), well-formed boosters, and a
        blend's weight per task."""
        if self.holds_network:
            params = self.network_params
            network = build_model(params.name, self.layout, list(self.tasks), params, self.types)
            for run in self.runs:
                check_weights(run.state_dict, network.state_dict())
        if not self.is_network:
            features = len(tree_columns(self.layout)[0])
            for run in self.runs:
                for task in self.tasks:
                    check_booster(run.boosters.get(task, ""), features)
        if self.name == BLEND:
            for run in self.runs:
                check_blend_weights(run.weights, self.tasks)


def _params(data: Mapping) -> ModelParams | BlendParams:
    """A model file's parameters, typed: a blend's or a model's own."""
    if isinstance(data, Mapping) and data.get("name") == BLEND:
        return validate(BlendParams, data, "model")
    return model_params(data["name"], data)


def _of_run(items: Mapping[str, object], run: int) -> dict:
    prefix = f"run{run}."
    return {k.removeprefix(prefix): v for k, v in items.items() if k.startswith(prefix)}


def resolve_model_file(model: str | Path, folder: Path) -> Path:
    """The model file that ``model`` names: a model name (``ple``) or a path inside
    ``folder``, or an explicit absolute path. A relative path that leaves ``folder``
    (``../../tmp/x``) raises ``ArtifactError``; a folder means its ``model.pt``."""
    path = Path(model)
    if not path.is_absolute():
        path = (folder / path).resolve()
        if not path.is_relative_to(folder.resolve()):
            raise ArtifactError(
                f"{str(model)!r} is outside the model folder {folder}: give a model name "
                "(ple, mmoe, …), a path inside that folder, or an absolute path."
            )
    return path / "model.pt" if path.is_dir() or not (path.suffix or path.exists()) else path


def _is_pickle(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(1) == b"\x80"  # the PROTO opcode that starts every pickle since protocol 2


def load_artifact(path: Path) -> ModelArtifact:
    """The model in ``path``; a file that is not one raises ``ArtifactError`` naming it.

    Only ``torch.save`` archives are opened, with ``weights_only=True``: never an unpickling
    of arbitrary objects.
    """
    if not path.is_file():
        raise ArtifactError(f"{path}: no such model file; train the model first.")
    if not zipfile.is_zipfile(path):
        raise ArtifactError(
            f"{path}: a pickle, not a census-mtl model file; pickles are never loaded (loading "
            "one can run code). A model.pkl of an earlier version: retrain it with "
            "`kedro run --pipelines train_<model>`, which writes model.pt."
            if _is_pickle(path)
            else f"{path}: not a census-mtl model file (not a torch.save archive)."
        )
    try:
        check_archive(path)
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except ArtifactError as exc:
        raise ArtifactError(f"{path}: {exc}") from None
    except (pickle.UnpicklingError, zipfile.BadZipFile, RuntimeError, EOFError, KeyError) as exc:
        raise ArtifactError(f"{path}: not a census-mtl model file ({first_line(exc)}).") from None
    try:
        return ModelArtifact.from_payload(payload)
    except ArtifactError as exc:
        raise ArtifactError(f"{path}: {exc}") from None


def save_artifact(artifact: ModelArtifact, path: Path) -> None:
    """Write ``artifact`` to ``path`` atomically (a kill leaves the previous file whole).

    The archive is built in memory and written with Python's own file writes, so that a full
    disk is an ``OSError`` (one ``DiskFullError`` line), not torch's C++ ``enforce fail``.
    """
    buffer = io.BytesIO()
    torch.save(artifact.to_payload(), buffer)
    write_bytes(path, buffer.getbuffer())
