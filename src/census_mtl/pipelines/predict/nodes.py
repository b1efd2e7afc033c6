"""The prediction node: chunks of a census file to per-task probabilities and a bad-row report."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import pandas as pd

from census_mtl.config import validate
from census_mtl.config.project import Predict
from census_mtl.inference.scoring import score_file
from census_mtl.models import ModelArtifact

logger = logging.getLogger(__name__)


def predict_file(
    predict_input: Iterable[tuple[pd.DataFrame, pd.DataFrame]],
    predict_model: ModelArtifact,
    predict: dict,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score the input chunk by chunk with the model and the encoder it carries; only the
    (small) probabilities are kept in memory."""
    settings = validate(Predict, predict, "predict")
    scored_rows, bad_rows = score_file(predict_input, predict_model, settings)
    seed = predict_model.runs[predict_model.run_index(settings.run)].seed
    logger.info(
        "Scored %d rows with %s (seed %d).", len(scored_rows), predict_model.params.name, seed
    )
    if len(bad_rows):
        logger.warning(
            "%d rows skipped for bad values; see the prediction_bad_rows report.",
            bad_rows["line"].nunique(),
        )
    return scored_rows, bad_rows
