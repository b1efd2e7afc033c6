"""Fixtures shared by the pipeline tests."""

from functools import cache

import pytest

from census_mtl.pipelines.preprocess.nodes import (
    build_model_input,
    feature_layout,
    fit_preprocessor,
)
from tests.conftest import train_frame
from tests.pipelines.preprocess.test_nodes import PARAMS as PREPROCESS


@cache
def preprocessor() -> dict:
    """The encoder fitted on the ``census_train`` table (the one every model input shares)."""
    return fit_preprocessor(train_frame(), PREPROCESS)


@pytest.fixture(scope="session")
def inputs(census_train, census_test):
    """Model input from ``census_train`` and ``census_test``, and their feature layout."""
    return (
        build_model_input(census_train, preprocessor(), PREPROCESS),
        build_model_input(census_test, preprocessor(), PREPROCESS),
        feature_layout(preprocessor()),
    )
