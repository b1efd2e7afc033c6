"""The typed configuration: every bad parameter fails before any work, naming its key path."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import torch
import yaml
from kedro.config import OmegaConfigLoader
from kedro.framework.cli.utils import _split_params

from census_mtl.cli import load_parameters
from census_mtl.config import ConfigError, Training, merge_settings, validate_params
from census_mtl.config.docs import settings_page
from tests.conftest import PROJECT

# The table: `kedro run --env sample --params ...` and the message naming the key.
BAD = [
    (
        "training_defaults.optimizer.learning_rate=fast",
        "training_defaults.optimizer.learning_rate = 'fast': Input should be a valid number",
    ),
    (
        "training_defaults.loss.task_weights.income=heavy",
        "training_defaults.loss.task_weights.income = 'heavy': Input should be a valid number",
    ),
    (
        "training_defaults.early_stopping.patience=abc,training_defaults.max_epochs=15",
        "training_defaults.early_stopping.patience = 'abc': Input should be a valid integer",
    ),
    (
        "training_defaults.loss.task_weights.income=-1",
        "training_defaults.loss.task_weights.income = -1: "
        "Input should be greater than or equal to 0",
    ),
    (
        "training_defaults.early_stopping.patience=-1",
        "training_defaults.early_stopping.patience = -1: "
        "Input should be greater than or equal to 1",
    ),
    (
        "ple.trainig.max_epochs=1",
        r"ple.trainig: unknown key \(did you mean 'training'\?\); allowed: model, training",
    ),
    ("predict.batch_size=0", "predict.batch_size = 0: Input should be greater than or equal to 1"),
    ("tuning.n_trials=abc", "tuning.n_trials = 'abc': Input should be a valid integer"),
    ("tuning.n_trials=-1", "tuning.n_trials = -1: Input should be greater than or equal to 1"),
    (
        "training_defaults.early_stopping.metric=foo",
        "training_defaults.early_stopping.metric = 'foo': "
        "use 'mean_auc' or a task: income, marital",
    ),
    (
        "ple.training.optimizer.nme=adam",
        r"ple.training.optimizer.nme: unknown key \(did you mean 'name'\?\)",
    ),
    (
        "tuning.trial_training.max_epochs=0",
        "tuning.trial_training.max_epochs = 0: Input should be greater than or equal to 1",
    ),
    (
        "tuning_spaces.ple.model.dropot=0.1",
        r"tuning_spaces.ple.model.dropot: unknown key \(did you mean 'dropout'\?\)",
    ),
    ("training_defaults.device=gpu", "training_defaults.device = 'gpu': String should match"),
    ("evaluation.bootstrap_samples=0", "evaluation.bootstrap_samples = 0: Input should be"),
    ("compare.baseline=singletask", "compare.baseline = 'singletask': Input should be 'ple'"),
    ("preprocess.numeric_bins=1", "preprocess.numeric_bins = 1: use 0"),
    ("trainig_defaults.seeds=[1]", r"trainig_defaults: unknown key \(did you mean 'training_de"),
    ("gbdt.model.tasks.incme.num_leaves=3", r"gbdt.model.tasks = .*\['incme'\] are not tasks"),
    ("ple.model.numeric_embedding.kind=pwl", "kind must be periodic or piecewise_linear"),
    ("tuning.objective=each", r"tuning.objective = 'each': .*mean_auc, multi, per_task or a task"),
]


def params_for(overrides: str, env: str = "sample") -> dict:
    return load_parameters(PROJECT, env, _split_params(None, None, overrides))


@pytest.mark.parametrize(("overrides", "message"), BAD, ids=[o for o, _ in BAD])
def test_bad_parameter_is_named_with_its_path(overrides, message):
    with pytest.raises(ConfigError, match=message) as caught:
        validate_params(params_for(overrides))
    assert str(caught.value).startswith("Invalid parameters (1 problem(s)):")


@pytest.mark.parametrize(
    "env", ["local", "sample", "tuned", "paddlerec", "mmoe_paper", "education", "funnel", "scarce"]
)
def test_every_environment_is_valid(env):
    params = validate_params(params_for("", env))
    assert params.ple.model.name == "ple" and params.preprocess.tasks


def test_the_gbdt_defaults_are_the_tuned_boosters():
    """``conf/base`` holds each task's best booster of the committed ``tune_gbdt`` studies."""
    tuned = yaml.safe_load((PROJECT / "conf/tuned/parameters_gbdt.yml").read_text())
    base = yaml.safe_load((PROJECT / "conf/base/parameters_train.yml").read_text())
    assert base["gbdt"]["model"]["tasks"] == tuned["gbdt"]["model"]["tasks"]


def test_each_scarce_fraction_writes_its_report_into_its_own_folder():
    fraction = _split_params(None, None, "preprocess.label_fraction.income=0.03")
    loader = OmegaConfigLoader(
        str(PROJECT / "conf"),
        base_env="base",
        default_run_env="scarce",
        env="scarce",
        runtime_params=fraction,
        merge_strategy={"parameters": "soft"},
    )
    folder = "data/scarce/08_reporting/income_0.03"
    catalog = loader["catalog"]
    for name in ["compare_metrics", "compare_table", "paired_comparisons", "data_report"]:
        assert catalog[name]["filepath"].startswith(f"{folder}/"), name
    params = validate_params(loader["parameters"])
    assert params.preprocess.label_fraction == {"income": 0.03}
    assert params.compare.report_dir == folder


def test_a_model_training_override_merges_deeply():
    params = params_for("ple.training.optimizer.learning_rate=0.01")
    merged = merge_settings(params["training_defaults"], params["ple"]["training"])
    training = Training.model_validate(merged)
    assert training.optimizer.learning_rate == 0.01 and training.optimizer.name == "adam"
    assert training.seeds == params["training_defaults"]["seeds"]
    validate_params(params)


def test_every_problem_is_listed_at_once():
    with pytest.raises(ConfigError, match=r"\(2 problem\(s\)\)"):
        validate_params(params_for("predict.batch_size=0,evaluation.seed=-1"))


def _kedro(*args: str) -> subprocess.CompletedProcess:
    env = os.environ | {"KEDRO_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "1"}
    return subprocess.run(
        [sys.executable, "-m", "kedro", *args],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_kedro_run_fails_in_seconds_with_one_message_and_no_traceback():
    started = time.perf_counter()
    done = _kedro(
        "run",
        "--env",
        "sample",
        "--pipelines",
        "train_ple",
        "--params",
        "training_defaults.optimizer.learning_rate=fast",
    )
    assert time.perf_counter() - started < 30
    assert done.returncode == 2
    assert "Error: Invalid parameters (1 problem(s)):" in done.stderr
    assert "training_defaults.optimizer.learning_rate = 'fast'" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("training_defaults.device=cuda", "training_defaults.device: device 'cuda' is not"),
        ("ple.training.device=cuda:1", "ple.training.device: device 'cuda:1' is not"),
    ],
)
def test_a_device_this_machine_lacks_fails_before_the_data_loads(params, message):
    done = _kedro("run", "--env", "sample", "--pipelines", "train_ple", "--params", params)
    assert done.returncode == 2
    assert message in done.stderr and "available" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr and "Loading data" not in done.stdout


@pytest.mark.slow
def test_check_config_command():
    env = os.environ | {"KEDRO_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "1"}
    command = [sys.executable, "-m", "census_mtl", "check-config", "--env", "sample"]
    ok = subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True)
    assert ok.returncode == 0 and "are valid" in ok.stdout
    bad = subprocess.run(
        [*command, "--params", "ple.trainig.max_epochs=1"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1 and "ple.trainig: unknown key" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_settings_page_is_generated_from_the_declarations():
    page = (PROJECT / "docs" / "settings.md").read_text()
    assert page == settings_page(), "run `python -m census_mtl.config.docs docs/settings.md`"
