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
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm.auto import tqdm

from census_mtl.config.training import Optimizer, Schedule, Training
from census_mtl.errors import ProjectError
from census_mtl.metrics import score_name, validation_scores
from census_mtl.models.prediction import predict, task_types
from census_mtl.models.registry import standardise_outputs
from census_mtl.training.checkpoints import Checkpoints
from census_mtl.training.data import TensorData
from census_mtl.training.device import resolve_device, set_threads
from census_mtl.training.fused import FusedStep, check_compiler, fusable, release
from census_mtl.training.loss import MultiTaskLoss

logger = logging.getLogger(__name__)

OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}


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


def make_optimizer(model: torch.nn.Module, spec: Optimizer) -> torch.optim.Optimizer:
    """Adam or AdamW over every parameter, fused: one kernel for every parameter's update."""
    return OPTIMIZERS[spec.name](
        model.parameters(), lr=spec.learning_rate, weight_decay=spec.weight_decay, fused=True
    )


def schedule_factor(
    spec: Schedule, steps_per_epoch: int, epochs: int
) -> Callable[[int], float] | None:
    """The learning-rate factor of each step: linear warm-up, then cosine decay to
    ``min_factor`` (``None`` for a constant rate)."""
    if spec.name == "constant" and spec.warmup_epochs == 0:
        return None
    warmup, total = spec.warmup_epochs * steps_per_epoch, epochs * steps_per_epoch

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if spec.name == "constant":
            return 1.0
        progress = min(1.0, (step - warmup) / max(1.0, total - warmup))
        return spec.min_factor + (1 - spec.min_factor) * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


def make_scheduler(
    optimizer: torch.optim.Optimizer, spec: Schedule, steps_per_epoch: int, epochs: int
) -> torch.optim.lr_scheduler.LambdaLR | None:
    """``schedule_factor`` as a per-step scheduler of ``optimizer``."""
    factor = schedule_factor(spec, steps_per_epoch, epochs)
    return None if factor is None else torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def train_epoch(
    forward: Callable,
    data: TensorData,
    order: torch.Tensor,
    batch_size: int,
    loss_fn: MultiTaskLoss,
    optimizer: torch.optim.Optimizer,
    desc: str,
    after_step: Callable[[], None] | None = None,
) -> list[float]:
    """One pass over the rows of ``data`` that ``order`` lists, in that order; the mean total and
    per-task losses."""
    sums = torch.zeros(len(loss_fn.tasks) + 1, device=order.device)
    batches = range(0, len(order), batch_size)
    for start in tqdm(batches, desc=desc, leave=False, disable=None):
        index = order[start : start + batch_size]
        if len(index) < 2:  # batch norm needs two rows; drop a lone last row
            continue
        x, y, w = data.rows(index)
        total, per_task = loss_fn(forward(x), y, w)
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        optimizer.step()
        if after_step is not None:
            after_step()
        sums += torch.stack([total.detach(), *(v.detach() for v in per_task.values())])
    return (sums / len(batches)).tolist()  # waits for the device: time the whole epoch


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
    """One seed's training: model, optimiser, batch order generator, progress, best weights."""

    def __init__(self, model, settings: Training, seed: int, device: torch.device) -> None:
        self.model, self.settings, self.seed, self.device = model, settings, seed, device
        self.types = task_types(model)
        self.loss_fn = MultiTaskLoss.of(model, settings.loss)
        model.to(device)
        self.fused, self.optimizer, self.forward = None, None, model
        if settings.compile and fusable(model):
            self.fused = FusedStep(model, self.loss_fn, settings.optimizer, settings.ema_decay)
        else:
            self.optimizer = make_optimizer(model, settings.optimizer)
            self.forward = torch.compile(model) if settings.compile else model  # batch norm
        self.generator = torch.Generator().manual_seed(seed)
        self.progress, self.best_state = Progress(), _clone(model)
        self.scheduler, self.ema = None, None
        self.log_level = logging.INFO

    def prepare(self, rows: int) -> None:
        """The learning-rate schedule and the weight average, once the data size is known."""
        steps = math.ceil(rows / self.settings.batch_size)
        schedule = self.settings.schedule
        if self.fused is not None:
            factor = schedule_factor(schedule, steps, self.settings.max_epochs)
            rate = self.settings.optimizer.learning_rate
            self.learning_rate = lambda step: rate * (1.0 if factor is None else factor(step))
            return
        self.scheduler = make_scheduler(self.optimizer, schedule, steps, self.settings.max_epochs)
        if self.settings.ema_decay is not None:
            average = get_ema_multi_avg_fn(self.settings.ema_decay)
            self.ema = AveragedModel(self.model, multi_avg_fn=average, use_buffers=True)

    def _after_step(self) -> None:
        if self.scheduler is not None:
            self.scheduler.step()
        if self.ema is not None:
            self.ema.update_parameters(self.model)

    @property
    def scored(self) -> torch.nn.Module:
        """The weights that are evaluated and kept: the moving average when there is one."""
        if self.fused is not None and self.fused.ema_model is not None:
            return self.fused.ema_model
        return self.ema.module if self.ema is not None else self.model

    @property
    def finished(self) -> bool:
        return self.progress.epoch >= self.settings.max_epochs or self.progress.stopped

    def epoch(self, train: TensorData, validation: TensorData) -> dict[str, float]:
        """Train one epoch, score it on validation, keep the weights if they are the best."""
        progress, settings, model = self.progress, self.settings, self.model
        progress.epoch += 1
        started = time.perf_counter()
        model.train()
        order = torch.randperm(len(train), generator=self.generator).to(self.device)
        if self.fused is not None:
            losses = self.fused.epoch(train, order, settings.batch_size, self.learning_rate)
        else:
            hook = None if self.scheduler is None and self.ema is None else self._after_step
            losses = train_epoch(
                self.forward,
                train,
                order,
                settings.batch_size,
                self.loss_fn,
                self.optimizer,
                f"epoch {progress.epoch}",
                hook,
            )
        seconds = time.perf_counter() - started
        check_finite(self.model.state_dict(), f"seed {self.seed} after epoch {progress.epoch}")
        probs = predict(self.scored, validation.x, settings.eval_batch_size)
        scores = validation_scores(validation.y, probs, model.tasks, self.types)
        row = history_row(progress.epoch, seconds, losses, scores, self.types)
        _log_epoch(row, model.tasks, self.types, self.log_level)
        stopping, types = settings.early_stopping, dict(zip(model.tasks, self.types, strict=True))
        if progress.record(row, row[score_key(stopping.metric, types)], stopping.patience):
            self.best_state = _clone(self.scored)
        return row

    def snapshot(self, fingerprint: str) -> dict:
        return {
            "fingerprint": fingerprint,
            "model": self.model.state_dict(),
            "optimizer": (self.fused or self.optimizer).state_dict(),
            "generator": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "best_model": self.best_state,
            "state": asdict(self.progress),
            "scheduler": self.scheduler.state_dict() if self.scheduler else None,
            "ema": self.ema.state_dict() if self.ema else None,
        }

    def restore(self, saved: dict) -> None:
        for key in ("model", "best_model"):
            check_finite(saved[key], f"the checkpoint of seed {self.seed} ({key})")
        self.model.load_state_dict(saved["model"])
        (self.fused or self.optimizer).load_state_dict(saved["optimizer"])
        self.generator.set_state(saved["generator"])
        torch.set_rng_state(saved["torch_rng"])
        self.best_state, self.progress = saved["best_model"], Progress(**saved["state"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(saved["scheduler"])
        if self.ema is not None:
            self.ema.load_state_dict(saved["ema"])
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
    if settings.compile and device.type == "cpu":
        check_compiler()
    standardise_outputs(model, train.y)  # before the loss reads the scales; a resume restores them
    run = _Run(model, settings, seed, device)
    run.prepare(len(train))
    if checkpoints is not None and settings.resume:
        saved = checkpoints.load(seed, fingerprint, device)
        if saved is not None:
            run.restore(saved)
    train, validation = train.to(device), validation.to(device)
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
    if run.fused is not None:
        release(model)
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
