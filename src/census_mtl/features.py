"""Task labels and the feature encoder: standardised numbers and index-encoded categories.

Each categorical field (and, optionally, each numeric column cut into quantile bins)
becomes one integer, ``0`` for a value unseen in training and ``1..K`` for the ``K`` values
seen, so that a model's first layer can add one weight row per field instead of multiplying a
mostly-zero one-hot vector (see ``census_mtl.models.inputs``).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import KBinsDiscretizer, OrdinalEncoder, StandardScaler

from census_mtl.config.project import Task
from census_mtl.data.schema import COLUMNS, LABEL, NUMERIC, WEIGHT

LABEL_PREFIX = "y__"
WEIGHT_COLUMN = "weight"


def feature_columns(tasks: Mapping[str, Task], drop_columns: list[str]) -> list[str]:
    """The feature columns: all but label sources, the instance weight and ``drop_columns``."""
    excluded = {WEIGHT, LABEL, *drop_columns, *(t.column for t in tasks.values())}
    return [c for c in COLUMNS if c not in excluded]


def make_labels(table: pd.DataFrame, tasks: Mapping[str, Task]) -> pd.DataFrame:
    """One float32 0/1 column ``y__<task>`` per task."""
    return pd.DataFrame(
        {
            f"{LABEL_PREFIX}{name}": table[t.column].isin(t.positive).astype("float32")
            for name, t in tasks.items()
        },
        index=table.index,
    )


def fit_encoder(
    train: pd.DataFrame, columns: list[str], numeric_bins: int = 0
) -> ColumnTransformer:
    """Fit scaling and index encoding on the training table only.

    With ``numeric_bins > 0`` every numeric column also becomes a categorical field of up to
    that many quantile bins (ties merge bins), so a model can learn non-monotone effects.
    """
    numeric = [c for c in columns if c in NUMERIC]
    categorical = [c for c in columns if c not in NUMERIC]
    parts = [
        ("num", StandardScaler(), numeric),
        (
            "cat",
            OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, dtype=np.float32),
            categorical,
        ),
    ]
    if numeric_bins:
        bins = KBinsDiscretizer(
            numeric_bins,
            encode="ordinal",
            strategy="quantile",
            quantile_method="averaged_inverted_cdf",
            subsample=None,
        )
        parts.append(("bin", bins, numeric))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Bins whose width are too small")
        return ColumnTransformer(parts).fit(train[columns])


def encode(encoder: ColumnTransformer, table: pd.DataFrame) -> pd.DataFrame:
    """Float32 features: standardised numbers, then category indices (0 = unseen)."""
    values = encoder.transform(table[list(encoder.feature_names_in_)]).astype(np.float32)
    names = encoder.get_feature_names_out()
    n_numeric = len(encoder.named_transformers_["num"].feature_names_in_)
    values[:, n_numeric:] += 1.0
    return pd.DataFrame(values, columns=names, index=table.index)


def layout_of(encoder: ColumnTransformer) -> dict:
    """The input layout a model needs: numeric names and each field's cardinality."""
    ordinal = encoder.named_transformers_["cat"]
    fields = {
        f"cat__{name}": len(values) + 1
        for name, values in zip(ordinal.feature_names_in_, ordinal.categories_, strict=True)
    }
    if "bin" in encoder.named_transformers_:
        bins = encoder.named_transformers_["bin"]
        fields |= {
            f"bin__{name}": int(n) + 1
            for name, n in zip(bins.feature_names_in_, bins.n_bins_, strict=True)
        }
    return {
        "numeric": [f"num__{c}" for c in encoder.named_transformers_["num"].feature_names_in_],
        "categorical": fields,
    }
