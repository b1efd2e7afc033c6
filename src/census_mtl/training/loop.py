"""The training loop: seeded mini-batches over in-memory tensors, early stopping, checkpoints.

Every epoch writes a checkpoint (model, optimiser, epoch, RNG states, best weights so far and the
history). With ``resume``, a rerun of the same configuration on the same data continues from it
and ends exactly where an uninterrupted run would; a checkpoint of anything else is ignored.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from census_mtl.training.data import TensorData, predict, task_aucs
from census_mtl.training.device import resolve_device, set_threads
from census_mtl.training.loss import MultiTaskLoss

logger = logging.getLogger(__name__)

OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}


@dataclass(frozen=True)
class TrainConfig:
    """Training settings (``training_defaults`` merged with a model's ``training``)."""

    seed: int = 42
    device: str = "auto"
    num_threads: int | None = None
    optimizer: Mapping[str, Any] = field(default_factory=lambda: {"name": "adam"})
    batch_size: int = 1024
    eval_batch_size: int = 16384
    max_epochs: int = 20
    early_stopping: Mapping[str, Any] = field(
        default_factory=lambda: {"metric": "mean_auc", "patience": 3}
    )
    loss: Mapping[str, Any] = field(default_factory=dict)
    checkpoint_dir: str | None = None
    resume: bool = True
    compile: bool = False

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> TrainConfig:
        allowed = cls.__dataclass_fields__
        unknown = sorted(set(params) - set(allowed))
        if unknown:
            raise ValueError(f"training: unknown keys {unknown}; allowed: {sorted(allowed)}.")
        config = cls(**params)
        for key in ("batch_size", "eval_batch_size", "max_epochs"):
            value = getattr(config, key)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"training.{key} must be a positive integer, got {value!r}.")
        for key in ("resume", "compile"):
            if not isinstance(getattr(config, key), bool):
                raise ValueError(
                    f"training.{key} must be true or false, got {getattr(config, key)!r}."
                )
        name = config.optimizer.get("name")
        if name not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {name!r}; allowed: {sorted(OPTIMIZERS)}.")
        extra = set(config.optimizer) - {"name", "learning_rate", "weight_decay"}
        if extra:
            raise ValueError(
                f"optimizer: unknown keys {sorted(extra)}; allowed: name, learning_rate, "
                "weight_decay."
            )
        if set(config.early_stopping) != {"metric", "patience"}:
            raise ValueError("early_stopping needs exactly the keys 'metric' and 'patience'.")
        return config


@dataclass
class FitResult:
    """Best weights, the epoch they come from, and one history row per epoch."""

    best_state: dict[str, torch.Tensor]
    best_epoch: int
    history: list[dict[str, float]]


def _score(aucs: Mapping[str, float], metric: str) -> float:
    if metric == "mean_auc":
        return sum(aucs.values()) / len(aucs)
    if metric not in aucs:
        raise ValueError(
            f"early_stopping.metric {metric!r}: use 'mean_auc' or one of {list(aucs)}."
        )
    return aucs[metric]


def _save(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{path.name}.part")
    torch.save(payload, part)
    os.replace(part, path)


def fit(
    model: torch.nn.Module,
    train: TensorData,
    validation: TensorData,
    config: TrainConfig,
    fingerprint: str = "",
    on_epoch_end: Callable[[dict[str, float]], None] | None = None,
) -> FitResult:
    """Train ``model`` (built with ``config.seed`` set) and return its best epoch.

    ``on_epoch_end`` receives each epoch's history row once its checkpoint is written; an
    exception it raises (Optuna's ``TrialPruned``, say) stops the training there.
    """
    tasks = model.tasks
    device = resolve_device(config.device)
    set_threads(config.num_threads)
    loss_fn = MultiTaskLoss(tasks, config.loss)
    opt_params = dict(config.optimizer)
    optimizer = OPTIMIZERS[opt_params.pop("name")](
        model.to(device).parameters(),
        lr=opt_params.get("learning_rate", 1e-3),
        weight_decay=opt_params.get("weight_decay", 0.0),
        fused=True,  # one kernel for every parameter's update
    )
    forward = torch.compile(model) if config.compile else model  # same parameters, fused kernels
    generator = torch.Generator().manual_seed(config.seed)
    state: dict[str, Any] = {"epoch": 0, "history": [], "best_epoch": 0, "best_score": -math.inf}
    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    checkpoint = (
        Path(config.checkpoint_dir) / f"last-seed{config.seed}.pt"
        if config.checkpoint_dir
        else None
    )
    if config.resume and checkpoint is not None and checkpoint.exists():
        saved = torch.load(checkpoint, map_location=device, weights_only=True)
        if saved["fingerprint"] == fingerprint:
            model.load_state_dict(saved["model"])
            optimizer.load_state_dict(saved["optimizer"])
            generator.set_state(saved["generator"])
            torch.set_rng_state(saved["torch_rng"])
            best_state, state = saved["best_model"], saved["state"]
            logger.info("Resuming from %s after epoch %d.", checkpoint, state["epoch"])
        else:
            logger.warning("Ignoring %s: it belongs to another configuration or data.", checkpoint)
    metric, patience = config.early_stopping["metric"], config.early_stopping["patience"]
    train, validation, n = train.to(device), validation.to(device), len(train)
    logger.info(
        "Training on %s: %d rows, batch %d, seed %d.", device, n, config.batch_size, config.seed
    )
    while state["epoch"] < config.max_epochs and not state.get("stopped"):
        state["epoch"] += 1
        epoch, started = state["epoch"], time.perf_counter()
        model.train()
        order = torch.randperm(n, generator=generator).to(device)
        sums = torch.zeros(len(tasks) + 1, device=device)
        batches = range(0, n, config.batch_size)
        for start in tqdm(batches, desc=f"epoch {epoch}", leave=False, disable=None):
            index = order[start : start + config.batch_size]
            if len(index) < 2:  # batch norm needs two rows; drop a lone last row
                continue
            x, y, w = train.rows(index)
            total, per_task = loss_fn(forward(x), y, w)
            optimizer.zero_grad(set_to_none=True)
            total.backward()
            optimizer.step()
            sums += torch.stack([total.detach(), *(v.detach() for v in per_task.values())])
        means = (sums / len(batches)).tolist()  # waits for the device: time the whole epoch
        seconds = time.perf_counter() - started
        aucs = task_aucs(validation.y, predict(model, validation.x, config.eval_batch_size), tasks)
        score = _score(aucs, metric)
        row = {"epoch": epoch, "seconds": seconds, "train_loss": means[0]}
        row |= {f"train_loss_{t}": v for t, v in zip(tasks, means[1:], strict=True)}
        row |= {f"val_auc_{t}": v for t, v in aucs.items()} | {
            "val_mean_auc": _score(aucs, "mean_auc")
        }
        state["history"].append(row)
        logger.info(
            "epoch %d: loss %.4f, validation AUC %s (%.1fs)",
            epoch, means[0], ", ".join(f"{t} {v:.4f}" for t, v in aucs.items()), seconds,
        )  # fmt: skip
        if score > state["best_score"]:
            state["best_score"], state["best_epoch"], state["bad_epochs"] = score, epoch, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            state["bad_epochs"] = state.get("bad_epochs", 0) + 1
            state["stopped"] = state["bad_epochs"] >= patience
        if checkpoint is not None:
            _save(
                checkpoint,
                {
                    "fingerprint": fingerprint,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "generator": generator.get_state(),
                    "torch_rng": torch.get_rng_state(),
                    "best_model": best_state,
                    "state": state,
                },
            )
        if on_epoch_end is not None:
            on_epoch_end(row)
    model.load_state_dict(best_state)
    return FitResult(
        {k: v.cpu() for k, v in best_state.items()}, state["best_epoch"], state["history"]
    )
