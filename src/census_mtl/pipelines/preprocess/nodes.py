"""Nodes of the ``preprocess`` pipeline."""

from __future__ import annotations

import pandas as pd
from sklearn.model_selection import train_test_split

from census_mtl.config import validate
from census_mtl.config.project import Preprocess, Split
from census_mtl.data.schema import WEIGHT
from census_mtl.features import (
    LABEL_PREFIX,
    WEIGHT_COLUMN,
    FeatureEncoder,
    encode,
    feature_columns,
    fit_encoder,
    keep_label_fraction,
    layout_of,
    make_labels,
)


def split_validation_test(census_test: pd.DataFrame, split: dict) -> tuple[pd.DataFrame, ...]:
    """Split UCI's test file into validation and test parts with a fixed seed."""
    settings = validate(Split, split, "preprocess.split")
    validation, test = train_test_split(
        census_test,
        train_size=settings.validation_fraction,
        random_state=settings.seed,
        shuffle=True,
    )
    return validation.sort_index(), test.sort_index()


def fit_preprocessor(census_train: pd.DataFrame, params: dict) -> dict:
    """Fit the feature encoder on the training table (never on validation or test)."""
    settings = validate(Preprocess, params, "preprocess")
    columns = feature_columns(settings.tasks, settings.drop_columns)
    return fit_encoder(census_train, columns, settings.numeric_bins).to_dict()


def feature_layout(preprocessor: dict) -> dict:
    """The model input layout: numeric features and each categorical field's cardinality."""
    return layout_of(FeatureEncoder.from_dict(preprocessor))


def build_model_input(table: pd.DataFrame, preprocessor: dict, params: dict) -> pd.DataFrame:
    """Float32 features, one ``y__<task>`` label per task and the ``weight`` column."""
    settings = validate(Preprocess, params, "preprocess")
    return pd.concat(
        [
            encode(FeatureEncoder.from_dict(preprocessor), table),
            make_labels(table, settings.tasks),
            table[WEIGHT].astype("float32").rename(WEIGHT_COLUMN),
        ],
        axis=1,
    ).reset_index(drop=True)


def build_train_input(table: pd.DataFrame, preprocessor: dict, params: dict) -> pd.DataFrame:
    """``build_model_input`` of the training table, each task of ``label_fraction`` keeping its
    label on that seeded share of the rows (validation and test keep every label)."""
    settings = validate(Preprocess, params, "preprocess")
    frame = build_model_input(table, preprocessor, params)
    labels = [c for c in frame.columns if c.startswith(LABEL_PREFIX)]
    kept = keep_label_fraction(frame[labels], settings.label_fraction, settings.label_seed)
    return frame.assign(**kept)


def data_report(
    train: pd.DataFrame, validation: pd.DataFrame, test: pd.DataFrame, layout: dict
) -> dict:
    """Row counts, each task's labelled rows and positive rate (over its labelled rows) per
    split, and feature counts."""
    splits = {"train": train, "validation": validation, "test": test}
    tasks = [c.removeprefix(LABEL_PREFIX) for c in train.columns if c.startswith(LABEL_PREFIX)]
    cardinalities = layout["categorical"].values()
    return {
        "rows": {name: len(frame) for name, frame in splits.items()},
        "labelled_rows": {
            task: {
                name: int(frame[f"{LABEL_PREFIX}{task}"].notna().sum())
                for name, frame in splits.items()
            }
            for task in tasks
        },
        "positive_rate": {
            task: {
                name: round(float(frame[f"{LABEL_PREFIX}{task}"].mean()), 5)
                for name, frame in splits.items()
            }
            for task in tasks
        },
        "features": {
            "numeric": len(layout["numeric"]),
            "categorical": len(layout["categorical"]),
            "model_input_columns": len(layout["numeric"]) + len(layout["categorical"]),
            "one_hot_width": len(layout["numeric"]) + sum(cardinalities),
        },
    }
