import numpy as np
import pandas as pd
import pytest

from census_mtl.pipelines.preprocess.nodes import (
    build_model_input,
    build_train_input,
    data_report,
    feature_layout,
    fit_preprocessor,
    split_validation_test,
)

PARAMS = {
    "tasks": {
        "income": {"column": "income_50k", "positive": ["50000+."]},
        "marital": {"column": "marital_stat", "positive": ["Never married"]},
    },
    "drop_columns": ["education"],
    "numeric_bins": 8,
    "split": {"validation_fraction": 0.5, "seed": 2020},
}


@pytest.fixture(scope="module")
def preprocessor(census_train):
    return fit_preprocessor(census_train, PARAMS)


def test_split_is_half_half_disjoint_and_seeded(census_test):
    validation, test = split_validation_test(census_test, PARAMS["split"])
    assert len(validation) == len(test) == len(census_test) // 2
    assert not set(validation.index) & set(test.index)
    again, _ = split_validation_test(census_test, PARAMS["split"])
    pd.testing.assert_frame_equal(validation, again)
    other, _ = split_validation_test(census_test, {"validation_fraction": 0.5, "seed": 1})
    assert not other.index.equals(validation.index)


def test_split_rejects_bad_fraction(census_test):
    with pytest.raises(ValueError, match="validation_fraction"):
        split_validation_test(census_test, {"validation_fraction": 1.5, "seed": 0})


def test_features_exclude_labels_weight_and_dropped(preprocessor):
    layout = feature_layout(preprocessor)
    features = [name.split("__")[1] for name in layout["numeric"] + list(layout["categorical"])]
    for excluded in ["income_50k", "marital_stat", "instance_weight", "education"]:
        assert excluded not in features
    assert "num__age" in layout["numeric"] and "cat__sex" in layout["categorical"]
    assert layout["categorical"]["cat__sex"] == 3  # Female, Male and the unknown slot


def test_model_input_is_float32_with_labels_and_weight(census_train, preprocessor):
    frame = build_model_input(census_train, preprocessor, PARAMS)
    assert (frame.dtypes == np.float32).all()
    assert {"y__income", "y__marital", "weight"} <= set(frame.columns)
    expected = (census_train["marital_stat"] == "Never married").mean()
    assert frame["y__marital"].mean() == pytest.approx(expected)
    assert frame["weight"].tolist() == pytest.approx(census_train["instance_weight"].tolist())
    assert abs(frame["num__age"].mean()) < 1e-5  # standardised on train
    assert frame.filter(like="cat__").min().min() >= 1  # every train category is known


def test_unknown_category_goes_to_the_unknown_slot(census_train, preprocessor):
    rows = census_train.head(3).copy()
    rows["class_worker"] = ["Astronaut", "Private", "Astronaut"]
    frame = build_model_input(rows, preprocessor, PARAMS)
    assert frame["cat__class_worker"].tolist()[0] == 0.0
    assert frame["cat__class_worker"].tolist()[2] == 0.0
    assert frame["cat__class_worker"].tolist()[1] > 0


def test_encoder_is_fitted_on_train_only(census_train, census_test, preprocessor):
    shifted = census_test.assign(age=census_test["age"] + 50)
    frame = build_model_input(shifted, preprocessor, PARAMS)
    assert frame["num__age"].mean() > 1.0


def test_new_task_needs_no_code(census_train):
    params = {
        **PARAMS,
        "tasks": {**PARAMS["tasks"], "female": {"column": "sex", "positive": ["Female"]}},
    }
    frame = build_model_input(census_train, fit_preprocessor(census_train, params), params)
    assert "y__female" in frame.columns
    assert "cat__sex" not in frame.columns


@pytest.mark.parametrize(
    ("tasks", "message"),
    [
        ({"x": {"column": "nope", "positive": ["a"]}}, "tasks.x.column = 'nope': unknown column"),
        (
            {"x": {"column": "marital_stat", "positive": ["Never Married"]}},
            r"positive values \['Never Married'\] are not values of 'marital_stat'; allowed:",
        ),
        (
            {"x": {"column": "sex", "positve": ["Male"]}},
            r"tasks.x.positve: unknown key \(did you mean 'positive'\?\)",
        ),
        ({}, "preprocess.tasks = {}: Dictionary should have at least 1 item"),
    ],
)
def test_bad_task_definitions_are_explained(census_train, tasks, message):
    with pytest.raises(ValueError, match=message):
        fit_preprocessor(census_train, {**PARAMS, "tasks": tasks})


def test_unknown_drop_column_is_explained(census_train):
    with pytest.raises(
        ValueError, match=r"preprocess.drop_columns = \['educaton'\]: \['educaton'\] are not"
    ):
        fit_preprocessor(census_train, {**PARAMS, "drop_columns": ["educaton"]})


def test_data_report_counts_rows_rates_and_features(census_train, census_test, preprocessor):
    train = build_model_input(census_train, preprocessor, PARAMS)
    validation, test = (
        build_model_input(t, preprocessor, PARAMS)
        for t in split_validation_test(census_test, PARAMS["split"])
    )
    report = data_report(train, validation, test, feature_layout(preprocessor))
    assert report["rows"] == {"train": 3000, "validation": 1000, "test": 1000}
    assert report["positive_rate"]["income"]["train"] == pytest.approx(
        train["y__income"].mean(), abs=1e-4
    )
    assert report["features"]["model_input_columns"] == 45  # 7 numeric, 31 + 7 fields


def test_numeric_bins_are_quantile_fields(census_train, preprocessor):
    layout = feature_layout(preprocessor)
    frame = build_model_input(census_train, preprocessor, PARAMS)
    assert 2 < layout["categorical"]["bin__age"] <= 9  # at most 8 bins plus the unknown slot
    assert frame["bin__age"].min() == 1
    assert frame["bin__age"].max() == layout["categorical"]["bin__age"] - 1
    young = frame.loc[census_train["age"] < 10, "bin__age"]
    assert young.max() < frame.loc[census_train["age"] > 60, "bin__age"].min()


def test_no_bins_when_off(census_train):
    layout = feature_layout(fit_preprocessor(census_train, {**PARAMS, "numeric_bins": 0}))
    assert not any(name.startswith("bin__") for name in layout["categorical"])


def test_bad_bin_count_is_explained(census_train):
    with pytest.raises(ValueError, match=r"preprocess.numeric_bins = 1: use 0"):
        fit_preprocessor(census_train, {**PARAMS, "numeric_bins": 1})


FUNNEL = {
    "worked": {"column": "weeks_worked", "at_least": 1},
    "full_year": {"column": "weeks_worked", "at_least": 52, "space": "worked"},
    "high_income": {"column": "income_50k", "positive": ["50000+."], "space": "full_year"},
}


def test_a_funnel_step_is_labelled_only_inside_its_space(census_train):
    params = {**PARAMS, "tasks": FUNNEL}
    frame = build_model_input(census_train, fit_preprocessor(census_train, params), params)
    weeks, rich = census_train["weeks_worked"].to_numpy(), census_train["income_50k"].to_numpy()
    np.testing.assert_array_equal(frame["y__worked"], weeks >= 1)
    full_year = frame["y__full_year"]
    assert full_year.isna().to_numpy().tolist() == (weeks < 1).tolist()
    np.testing.assert_array_equal(full_year[weeks >= 1], weeks[weeks >= 1] == 52)
    high = frame["y__high_income"]
    assert high.notna().to_numpy().tolist() == (weeks == 52).tolist()
    np.testing.assert_array_equal(high[weeks == 52], rich[weeks == 52] == "50000+.")


def test_scarce_labels_keep_a_seeded_share_of_the_training_rows(census_train, preprocessor):
    params = {**PARAMS, "label_fraction": {"income": 0.1}, "label_seed": 3}
    train = build_train_input(census_train, preprocessor, params)
    assert train["y__income"].notna().sum() == round(0.1 * len(census_train))
    assert train["y__marital"].notna().all()  # the other task keeps every label
    again = build_train_input(census_train, preprocessor, params)
    pd.testing.assert_frame_equal(train, again)
    other = build_train_input(census_train, preprocessor, {**params, "label_seed": 4})
    assert not train["y__income"].isna().equals(other["y__income"].isna())
    full = build_model_input(census_train, preprocessor, PARAMS)
    kept = train["y__income"].notna()
    pd.testing.assert_series_equal(train["y__income"][kept], full["y__income"][kept])
    report = data_report(train, full, full, feature_layout(preprocessor))
    assert report["labelled_rows"]["income"]["train"] == kept.sum()
    assert report["labelled_rows"]["income"]["validation"] == len(full)


def test_label_fraction_names_a_task():
    with pytest.raises(ValueError, match=r"label_fraction: \['incme'\] are not tasks"):
        build_train_input(pd.DataFrame(), {}, {**PARAMS, "label_fraction": {"incme": 0.1}})
