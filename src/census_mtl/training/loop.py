"""The training loop: seeded mini-batches over in-memory tensors, early stopping, checkpoints.

Every epoch writes a checkpoint (model, optimiser, epoch, RNG states, best weights so far and the
history). With ``resume``, a rerun of the same configuration on the same data continues from it
and ends exactly where an uninterrupted run would; a checkpoint of anything else is ignored.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

import torch

from census_mtl import ops
from census_mtl.config.training import Training
from census_mtl.errors import ProjectError
from census_mtl.metrics import score_name, validation_scores
from census_mtl.models.prediction import predict, task_types
from census_mtl.models.registry import fit_to_training_rows
from census_mtl.training.checkpoints import Checkpoints
from census_mtl.training.conflict import gradient_cosines, loss_ratios
from census_mtl.training.data import TensorData
from census_mtl.training.device import check_compiler, resolve_device, set_threads
from census_mtl.training.loss import MultiTaskLoss
from census_mtl.training.step import make_step

logger = logging.getLogger(__name__)


@dataclass
class FitResult:
    """Best weights, the epoch they come from, and one history row per epoch."""

    best_state: dict[str, torch.Tensor]
    best_epoch: int
    history: list[dict[str, float]]


@dataclass
class Progress:
    """Where a training run stands; a checkpoint stores it as a plain dict."""

    epoch: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    best_score: float = -math.inf
    bad_epochs: int = 0
    stopped: bool = False

    def record(self, row: dict[str, float], score: float, patience: int) -> bool:
        """Add an epoch's row; return whether it is the best so far."""
        self.history.append(row)
        if score > self.best_score:
            self.best_score, self.best_epoch, self.bad_epochs = score, self.epoch, 0
            return True
        self.bad_epochs += 1
        self.stopped = self.bad_epochs >= patience
        return False


class NonFiniteWeightsError(ProjectError, ArithmeticError):
    """Weights that are NaN or infinite: never saved as a checkpoint or model, never resumed."""


def check_finite(state: dict[str, torch.Tensor], what: str) -> None:
    """Raise ``NonFiniteWeightsError`` naming ``what`` if a floating weight is not finite."""
    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise NonFiniteWeightsError(
            f"{what}: weights {', '.join(bad[:3])}{' …' if len(bad) > 3 else ''} are NaN or "
            "infinite (the loss diverged: lower the learning rate); nothing was saved from them"
        )


def _clone(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def history_row(
    epoch: int, seconds: float, losses: list[float], scores: dict, types: Sequence[str]
) -> dict[str, float]:
    """An epoch's history row: losses, each task's validation score (``val_auc_<task>``, or
    ``val_r2_<task>`` for a regression task) and their mean (``val_mean_auc``)."""
    row = {"epoch": epoch, "seconds": seconds, "train_loss": losses[0]}
    row |= {f"train_loss_{t}": v for t, v in zip(scores, losses[1:], strict=True)}
    names = [f"val_{score_name(k)}_{t}" for t, k in zip(scores, types, strict=True)]
    return (
        row
        | dict(zip(names, scores.values(), strict=True))
        | {"val_mean_auc": sum(scores.values()) / len(scores)}
    )


def score_key(metric: str, types: Mapping[str, str] | None = None) -> str:
    """The history column that early stopping (or a tuning objective) reads for ``metric``:
    ``mean_auc`` (the mean of the tasks' scores) or a task's name (``types``: task types)."""
    if metric == "mean_auc":
        return "val_mean_auc"
    return f"val_{score_name((types or {}).get(metric, 'binary'))}_{metric}"


class _Run:
    """One seed's training: model, step, batch order generator, progress, best weights."""

    def __init__(self, model, settings: Training, seed: int, rows: int) -> None:
        self.model, self.settings, self.seed = model, settings, seed
        self.types = task_types(model)
        self.loss_fn = MultiTaskLoss.of(model, settings.loss)
        self.step = make_step(model, self.loss_fn, settings, rows)
        self.generator = torch.Generator().manual_seed(seed)
        self.progress, self.best_state = Progress(), _clone(model)
        self.log_level = logging.INFO

    @property
    def finished(self) -> bool:
        return self.progress.epoch >= self.settings.max_epochs or self.progress.stopped

    def epoch(self, train: TensorData, validation: TensorData) -> dict[str, float]:
        """Train one epoch, score it on validation, keep the weights if they are the best."""
        progress, settings, model = self.progress, self.settings, self.model
        progress.epoch += 1
        started = time.perf_counter()
        model.train()
        order = torch.randperm(len(train), generator=self.generator).to(train.x.device)
        losses = self.step.epoch(train, order)
        seconds = time.perf_counter() - started
        check_finite(model.state_dict(), f"seed {self.seed} after epoch {progress.epoch}")
        probs = predict(self.step.scored, validation.x, settings.eval_batch_size)
        scores = validation_scores(validation.y, probs, model.tasks, self.types)
        row = history_row(progress.epoch, seconds, losses, scores, self.types)
        row |= self.step.diagnostics() | gradient_cosines(model, self.loss_fn, train)
        row |= loss_ratios(row, progress.history[0] if progress.history else row, model.tasks)
        _log_epoch(row, model.tasks, self.types, self.log_level)
        stopping, types = settings.early_stopping, dict(zip(model.tasks, self.types, strict=True))
        if progress.record(row, row[score_key(stopping.metric, types)], stopping.patience):
            self.best_state = _clone(self.step.scored)
        return row

    def snapshot(self, fingerprint: str) -> dict:
        return {
            "fingerprint": fingerprint,
            "model": self.model.state_dict(),
            "step": self.step.state_dict(),
            "generator": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "best_model": self.best_state,
            "state": asdict(self.progress),
        }

    def restore(self, saved: dict) -> None:
        for key in ("model", "best_model"):
            check_finite(saved[key], f"the checkpoint of seed {self.seed} ({key})")
        self.model.load_state_dict(saved["model"])
        self.step.load_state_dict(saved["step"])
        self.generator.set_state(saved["generator"])
        torch.set_rng_state(saved["torch_rng"])
        self.best_state, self.progress = saved["best_model"], Progress(**saved["state"])
        logger.info("Resuming seed %d after epoch %d.", self.seed, self.progress.epoch)


def fit(
    model: torch.nn.Module,
    train: TensorData,
    validation: TensorData,
    settings: Training,
    seed: int,
    checkpoints: Checkpoints | None = None,
    fingerprint: str = "",
    on_epoch_end: Callable[[dict[str, float]], None] | None = None,
    log_epochs: bool = True,
) -> FitResult:
    """Train ``model`` (built after ``torch.manual_seed(seed)``) and return its best epoch.

    ``on_epoch_end`` receives each epoch's history row once its checkpoint is written; an
    exception it raises (Optuna's ``TrialPruned``, say) stops the training there. Without
    ``log_epochs`` the epochs are logged at debug level (benchmarks of many small fits).
    """
    device = resolve_device(settings.device)
    set_threads(settings.num_threads)
    if settings.compile is True and device.type == "cpu":
        check_compiler()
    fit_to_training_rows(model, train.x, train.y)  # bins and scales; a resume restores them
    train, validation = train.to(device), validation.to(device)
    with ops.switched(settings.fast_ops):
        run = _Run(model.to(device), settings, seed, len(train))
        if checkpoints is not None and settings.resume:
            saved = checkpoints.load(seed, fingerprint, device)
            if saved is not None:
                run.restore(saved)
        run.log_level = logging.INFO if log_epochs else logging.DEBUG
        logger.log(
            run.log_level,
            "Training on %s: %d rows, batch %d, seed %d.",
            device,
            len(train),
            settings.batch_size,
            seed,
        )
        while not run.finished:
            row = run.epoch(train, validation)
            if checkpoints is not None:
                checkpoints.save(seed, run.snapshot(fingerprint))
            if on_epoch_end is not None:
                on_epoch_end(row)
    run.step.close()
    model.load_state_dict(run.best_state)
    best = {k: v.cpu() for k, v in run.best_state.items()}
    return FitResult(best, run.progress.best_epoch, run.progress.history)


def _log_epoch(row: dict[str, float], tasks: list[str], types: Sequence[str], level: int) -> None:
    scores = ", ".join(
        f"{t} {score_name(k).upper()} {row[f'val_{score_name(k)}_{t}']:.4f}"
        for t, k in zip(tasks, types, strict=True)
    )
    logger.log(
        level,
        "epoch %d: loss %.4f, validation %s (%.1fs)",
        row["epoch"],
        row["train_loss"],
        scores,
        row["seconds"],
    )
