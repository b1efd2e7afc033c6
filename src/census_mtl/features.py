"""Task labels and the feature encoder: standardised numbers and index-encoded categories.

Each categorical field (and, optionally, each numeric column cut into quantile bins)
becomes one integer, ``0`` for a value unseen in training and ``1..K`` for the ``K`` values
seen, so that a model's first layer can add one weight row per field instead of multiplying a
mostly-zero one-hot vector (see ``census_mtl.models.inputs``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.preprocessing import KBinsDiscretizer, OrdinalEncoder, StandardScaler

from census_mtl.config.project import Task
from census_mtl.data.schema import COLUMNS, LABEL, NUMERIC, WEIGHT
from census_mtl.errors import ProjectError

LABEL_PREFIX = "y__"
WEIGHT_COLUMN = "weight"
ENCODER_FORMAT = "census-mtl preprocessor v1"


def feature_columns(tasks: Mapping[str, Task], drop_columns: list[str]) -> list[str]:
    """The feature columns: all but label sources, the instance weight and ``drop_columns``."""
    excluded = {WEIGHT, LABEL, *drop_columns, *(t.column for t in tasks.values())}
    return [c for c in COLUMNS if c not in excluded]


def task_label(table: pd.DataFrame, task: Task) -> pd.Series:
    """A task's float32 label: 0/1 for a binary task, the value for a regression task, and
    missing (NaN) where the source column is empty."""
    column = table[task.column]
    if task.type == "regression":
        label = column
    elif task.at_least is not None:
        label = column >= task.at_least
    else:
        label = column.isin(task.positive)
    return label.astype("float32").where(column.notna())


def make_labels(table: pd.DataFrame, tasks: Mapping[str, Task]) -> pd.DataFrame:
    """One float32 column ``y__<task>`` per task (``task_label``); a funnel step's label is
    missing outside its space, the rows where every earlier step's label is 1."""
    raw = {name: task_label(table, t) for name, t in tasks.items()}
    labels = {}
    for name, task in tasks.items():
        label, step = raw[name], task
        while step.space is not None:
            label = label.where(raw[step.space] == 1)
            step = tasks[step.space]
        labels[f"{LABEL_PREFIX}{name}"] = label
    return pd.DataFrame(labels, index=table.index)


def keep_label_fraction(
    labels: pd.DataFrame, fractions: Mapping[str, float], seed: int
) -> pd.DataFrame:
    """``labels`` with each task of ``fractions`` keeping its label on a seeded random share of
    the rows (the rest missing): scarce labels beside a task that has them all."""
    rng = np.random.default_rng(seed)
    kept = labels.copy()
    for task, fraction in fractions.items():
        drop = rng.permutation(len(kept))[round(fraction * len(kept)) :]
        kept.iloc[drop, kept.columns.get_loc(f"{LABEL_PREFIX}{task}")] = np.nan
    return kept


class EncoderError(ProjectError, ValueError):
    """A preprocessor file that is not a fitted encoder of this project."""


@dataclass(frozen=True)
class FeatureEncoder:
    """The fitted encoder as plain numbers and strings: saved as JSON, never pickled.

    ``numeric``: column → (mean, scale); ``categories``: column → the values seen in
    training (code ``i + 1``; ``0`` is unseen); ``bins``: column → quantile bin edges.
    """

    numeric: dict[str, tuple[float, float]]
    categories: dict[str, list]
    bins: dict[str, list[float]]

    def to_dict(self) -> dict:
        return {"format": ENCODER_FORMAT, **asdict(self)}

    @classmethod
    def from_dict(cls, data: Any) -> FeatureEncoder:
        """The encoder of a ``preprocessor.json``; anything else raises ``EncoderError``."""
        if not isinstance(data, Mapping) or data.get("format") != ENCODER_FORMAT:
            raise EncoderError(
                f"not a census-mtl preprocessor ({ENCODER_FORMAT!r}); rerun "
                "`kedro run --pipelines preprocess` to write data/04_feature/preprocessor.json."
            )
        try:
            encoder = cls(
                {c: (float(m), float(s)) for c, (m, s) in data["numeric"].items()},
                {c: list(v) for c, v in data["categories"].items()},
                {c: [float(e) for e in v] for c, v in data["bins"].items()},
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise EncoderError(f"damaged preprocessor ({type(exc).__name__}: {exc}).") from None
        for column, (mean, scale) in encoder.numeric.items():
            if not (math.isfinite(mean) and math.isfinite(scale) and scale > 0):
                raise EncoderError(
                    f"damaged preprocessor: column {column!r} has mean {mean} and scale {scale} "
                    "(a finite mean and a positive scale are needed)."
                )
        return encoder

    @property
    def columns(self) -> list[str]:
        return [*self.numeric, *self.categories]


def fit_encoder(train: pd.DataFrame, columns: list[str], numeric_bins: int = 0) -> FeatureEncoder:
    """Fit scaling and index encoding on the training table only (with scikit-learn).

    With ``numeric_bins > 0`` every numeric column also becomes a categorical field of up to
    that many quantile bins (ties merge bins), so a model can learn non-monotone effects.
    """
    numeric = [c for c in columns if c in NUMERIC]
    categorical = [c for c in columns if c not in NUMERIC]
    scaler = StandardScaler().fit(train[numeric])
    ordinal = OrdinalEncoder().fit(train[categorical])
    bins: dict[str, list[float]] = {}
    if numeric_bins:
        binner = KBinsDiscretizer(
            numeric_bins,
            encode="ordinal",
            strategy="quantile",
            quantile_method="averaged_inverted_cdf",
            subsample=None,
        )
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Bins whose width are too small")
            binner.fit(train[numeric])
        bins = {c: e.tolist() for c, e in zip(numeric, binner.bin_edges_, strict=True)}
    moments = zip(numeric, scaler.mean_, scaler.scale_, strict=True)
    return FeatureEncoder(
        {c: (float(m), float(s)) for c, m, s in moments},
        {c: v.tolist() for c, v in zip(categorical, ordinal.categories_, strict=True)},
        bins,
    )


def encode(encoder: FeatureEncoder, table: pd.DataFrame) -> pd.DataFrame:
    """Float32 features: standardised numbers, then category and bin indices (0 = unseen)."""
    parts = {
        f"num__{c}": (table[c].to_numpy(np.float64) - m) / s
        for c, (m, s) in encoder.numeric.items()
    }
    for c, values in encoder.categories.items():
        parts[f"cat__{c}"] = pd.Index(values).get_indexer(table[c]) + 1  # unseen: -1 + 1
    for c, edges in encoder.bins.items():
        x = table[c].to_numpy(np.float64)
        parts[f"bin__{c}"] = np.searchsorted(np.asarray(edges)[1:-1], x, side="right") + 1
    return pd.DataFrame(parts, index=table.index).astype(np.float32)


def layout_of(encoder: FeatureEncoder) -> dict:
    """The input layout a model needs: numeric names and each field's cardinality."""
    fields = {f"cat__{c}": len(v) + 1 for c, v in encoder.categories.items()}
    fields |= {f"bin__{c}": len(e) for c, e in encoder.bins.items()}  # bins + the unseen slot
    return {"numeric": [f"num__{c}" for c in encoder.numeric], "categorical": fields}
