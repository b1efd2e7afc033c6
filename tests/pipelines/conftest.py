"""Fixtures shared by the pipeline tests."""

import pytest

from census_mtl.pipelines.preprocess.nodes import (
    build_model_input,
    feature_layout,
    fit_preprocessor,
)
from tests.pipelines.preprocess.test_nodes import PARAMS as PREPROCESS


@pytest.fixture(scope="session")
def inputs(census_train, census_test):
    preprocessor = fit_preprocessor(census_train, PREPROCESS)
    return (
        build_model_input(census_train, preprocessor, PREPROCESS),
        build_model_input(census_test, preprocessor, PREPROCESS),
        feature_layout(preprocessor),
    )
