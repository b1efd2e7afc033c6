"""A study's grid of trainings on one setting's data: each network with each balancing method
and seed. Every finished training is kept on disk, so that a study killed midway resumes where
it stopped (an unfinished training from its last epoch) and ends with the results that an
uninterrupted run gives."""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from census_mtl.config import ModelParams, Training
from census_mtl.models import FeatureLayout, build_model
from census_mtl.models.prediction import predict
from census_mtl.training.checkpoints import Checkpoints
from census_mtl.training.data import TensorData
from census_mtl.training.loop import fit

# Settings that change neither the result nor what a finished training may be reused for.
_NOT_FINGERPRINTED = {"seeds", "device", "num_threads", "resume", "eval_batch_size"}
# The code a training's result depends on (not this module, which schedules the trainings):
# a finished training is reused only by the same code.
_TRAINING_CODE = ("balancing", "config", "models", "ops", "training")


@functools.cache
def code_digest() -> str:
    """SHA-256 of the package's training code and the torch version."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256(torch.__version__.encode())
    paths = {p for name in _TRAINING_CODE for p in (root / name).rglob("*.py")}
    for path in sorted(paths - {Path(__file__).resolve()}):
        digest.update(path.relative_to(root).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()


def in_processes(function: Callable, jobs: Iterable[tuple], workers: int) -> Iterator[Any]:
    """``function(*job)`` of every job, in order: here, or in ``workers`` spawned processes
    (each training is seeded on its own, so its result does not depend on where it ran)."""
    if workers == 1:
        yield from itertools.starmap(function, jobs)
        return
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield from pool.map(function, *zip(*jobs, strict=True))


@dataclass(frozen=True)
class StudyData:
    """One setting of a study: its tasks and their types, the network input (a dense width or
    a ``FeatureLayout``), funnel spaces and the three splits' tensors."""

    setting: str
    tasks: tuple[str, ...]
    types: tuple[str, ...]
    layout: FeatureLayout | int
    train: TensorData
    validation: TensorData
    test: TensorData
    spaces: dict[str, str] = field(default_factory=dict)

    def digest(self) -> str:
        """What a finished training must have seen to be reused: tasks and every tensor."""
        digest = hashlib.sha256(json.dumps([self.tasks, self.types, self.spaces]).encode())
        for split in (self.train, self.validation, self.test):
            for tensor in (split.x, split.y, split.w):
                digest.update(tensor.numpy().tobytes())
        return digest.hexdigest()


@dataclass(frozen=True)
class Job:
    """One training of a study: a network, its parameters, a balancing method and a seed."""

    network: str
    params: ModelParams
    method: str
    training: Training
    seed: int

    @property
    def name(self) -> str:
        return f"{self.network}__{self.method}"

    def fingerprint(self, data_digest: str) -> str:
        config = self.training.model_dump(exclude=_NOT_FINGERPRINTED)
        text = json.dumps(
            [self.params.model_dump(), config, self.seed, data_digest, code_digest()],
            sort_keys=True,
        )
        return hashlib.sha256(text.encode()).hexdigest()


def train_job(job: Job, data: StudyData, folder: Path, data_digest: str) -> dict[str, Any]:
    """One training's facts, history and test outputs ``(rows, tasks)``; read from ``folder``
    when it finished before, resumed from its last epoch when it was cut short."""
    done, key = Checkpoints(folder / job.name), job.fingerprint(data_digest)
    saved = done.load(job.seed, key, torch.device("cpu"))
    if saved is not None:
        return saved
    epochs = Checkpoints(done.folder / "epochs")
    torch.manual_seed(job.seed)
    network = build_model(
        job.params.name, data.layout, data.tasks, job.params, data.types, data.spaces
    )
    result = fit(
        network, data.train, data.validation, job.training, job.seed, epochs, key, log_epochs=False
    )
    payload = {
        "fingerprint": key,
        "best_epoch": result.best_epoch,
        "history": result.history,
        "outputs": predict(network, data.test.x, job.training.eval_batch_size),
    }
    done.save(job.seed, payload)
    epochs.path(job.seed).unlink(missing_ok=True)
    return payload


def run_grid(
    jobs: list[Job], data: StudyData, folder: Path, workers: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every job on ``data``: one row of facts per training (and the tasks' types), and the
    test labels ``y__<task>`` beside every training's outputs, a column
    ``p_<task>__<network>__<method>__seed<seed>`` each."""
    digest, types = data.digest(), json.dumps(dict(zip(data.tasks, data.types, strict=True)))
    # Copies, taken first: sending ``data`` to worker processes moves its tensors into shared
    # memory and frees their old buffers, so a view taken before that would read freed memory.
    labels = data.test.y.numpy().copy()
    payloads = in_processes(train_job, [(j, data, folder, digest) for j in jobs], workers)
    results, columns = [], {f"y__{t}": labels[:, k] for k, t in enumerate(data.tasks)}
    for job, payload in zip(jobs, payloads, strict=True):
        key = {"network": job.network, "method": job.method, "seed": job.seed}
        results.append(key | facts(payload) | {"task_types": types})
        outputs = payload["outputs"].numpy().copy()
        for k, task in enumerate(data.tasks):
            columns[f"p_{task}__{job.name}__seed{job.seed}"] = outputs[:, k]
    return pd.DataFrame(results), pd.DataFrame(columns)


def facts(payload: dict[str, Any]) -> dict[str, float]:
    """A training's best epoch, epochs and seconds, and its conflict record averaged over its
    epochs: the tasks' gradient cosines and the weights the balancer chose."""
    history = pd.DataFrame(payload["history"])
    diagnostics = [c for c in history.columns if c.startswith(("grad_cos_", "weight_"))]
    return {
        "best_epoch": int(payload["best_epoch"]),
        "epochs": len(history),
        "train_seconds": float(history["seconds"].sum()),
    } | {c: float(history[c].mean()) for c in diagnostics}
