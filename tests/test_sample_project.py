"""The whole project on the `sample` environment, once; then what a user does with the results."""

from __future__ import annotations

import gzip
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import onnxruntime
import pandas as pd
import pytest
import torch
from nbclient import NotebookClient

from census_mtl.inference.__main__ import main as inference_cli
from census_mtl.inference.export import export_onnx
from census_mtl.models import predict
from census_mtl.models.artifact import load_artifact
from tests.conftest import copy_project
from tests.test_run import run_kedro

MODELS = ["ple", "cgc", "mmoe", "share_bottom", "single_task", "esmm", "aitm", "gbdt", "blend"]
OVERRIDE = json.dumps(  # of the schedule study's smoke test
    {"max_epochs": 2, "ema_decay": None, "batch_size": 128, "optimizer": {"learning_rate": 0.01}}
)


@pytest.fixture(scope="module")
def sample_project(tmp_path_factory) -> Path:
    """A project copy after `kedro run --env sample` (the default pipeline: every model)."""
    project = copy_project(tmp_path_factory.mktemp("project"))
    with pytest.MonkeyPatch.context() as monkeypatch:
        run_kedro(project, monkeypatch, ["__default__"])
    return project


def _reporting(project: Path) -> Path:
    return project / "data" / "sample" / "08_reporting"


def test_default_run_writes_the_report(sample_project):
    reporting = _reporting(sample_project)
    table = pd.read_csv(reporting / "compare_table.csv")
    assert list(table["model"]) == MODELS
    assert (table[["auc_income", "auc_marital"]] > 0.7).all().all()
    assert (table[["ensemble_auc_income", "ensemble_auc_marital"]] > 0.7).all().all()
    paired = pd.read_csv(reporting / "paired_comparisons.csv")
    blend = json.loads((reporting / "metrics" / "blend.json").read_text())["members"]
    assert {
        "ple vs gbdt",
        "ple vs single_task",
        "gbdt vs single_task",
        "blend vs gbdt",
        f"blend vs {blend['network']}" if blend["network"] != "ple" else "ple vs blend",
    } <= set(paired["a"] + " vs " + paired["b"])
    assert paired["p_holm"].between(0, 1).all() and paired["verdict"].str.contains("p = ").all()
    page = (reporting / "compare_report.html").read_text()
    assert page.count("data:image/png;base64,") == 5
    assert not re.search(r"(src|href)=['\"]https?://", page)
    for name in ["auc_by_model", "roc_curves", "training_curves", "gate_weights", "conflict"]:
        assert (reporting / "figures" / f"{name}.png").stat().st_size > 10_000
    for model in MODELS:
        metrics = json.loads((reporting / "metrics" / f"{model}.json").read_text())
        assert metrics["seeds"] == 2 and set(metrics["test"]) == {"income", "marital"}
        assert (reporting / "plots" / "roc" / f"{model}.csv").exists()
        assert ("gates" in metrics) == (model in ("ple", "cgc", "mmoe"))
    report = (reporting / "compare_report.md").read_text()
    assert "## Where multi-task learning gained or lost against single_task" in report
    assert "- ple level2, marital gate: entropy " in report  # the last level: task gates only
    assert "- mmoe level1, income gate: entropy " in report
    assert "- ple: gradient cosine income vs marital " in report  # the task conflict section
    assert pd.read_csv(reporting / "compare_metrics.csv").columns.tolist() == [
        "model",
        "task",
        "metric",
        "value",
        "low",
        "high",
    ]


def test_notebook_runs_on_the_sample_environment(sample_project, monkeypatch):
    monkeypatch.setenv("KEDRO_ENV", "sample")
    monkeypatch.chdir(sample_project / "notebooks")
    notebook = nbformat.read(sample_project / "notebooks" / "census_mtl_results.ipynb", 4)
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(sample_project / "notebooks")}},
    )
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = json.dumps([o.get("data", {}).get("text/plain", "") for o in outputs])
    assert "validation" in text and "ple" in text
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the AUC plot


def _rows(frame: pd.DataFrame) -> list[str]:
    return [", ".join(map(str, row)) for row in frame.astype(str).itertuples(index=False)]


def test_scarce_study_gathers_each_fraction_and_the_full_label_run(sample_project, tmp_path):
    """`kedro run --env scarce --pipelines scarce` on two copies of the sample run's report:
    one as the default (every label) comparison, one as a 10 % fraction."""
    project = copy_project(tmp_path)
    files = ["compare_table.csv", "paired_comparisons.csv", "data_report.json"]
    fraction = project / "data" / "scarce" / "08_reporting" / "income_0.1"
    for folder in [project / "data" / "08_reporting", fraction]:
        folder.mkdir(parents=True)
        for name in files:
            shutil.copy(_reporting(sample_project) / name, folder / name)
    report = json.loads((fraction / "data_report.json").read_text())
    report["labelled_rows"]["income"]["train"] = report["rows"]["train"] // 10
    (fraction / "data_report.json").write_text(json.dumps(report))
    with pytest.MonkeyPatch.context() as monkeypatch:
        run_kedro(project, monkeypatch, ["scarce"], env="scarce")
    study = project / "data" / "scarce" / "08_reporting"
    summary = pd.read_csv(study / "summary.csv")
    assert summary["fraction"].unique().tolist() == [0.1, 1.0]
    assert set(summary["model"]) == set(MODELS)
    page = (study / "report.md").read_text()
    assert "- **10%** (400 labels): against single_task, significant gains:" in page
    assert "- **100%** (4,000 labels): against single_task" in page
    assert (study / "test_auc.png").stat().st_size > 10_000
    metrics = json.loads((study / "metrics.json").read_text())
    assert set(metrics["auc_income"]) == {"0.10", "1.00"}


def test_balancing_study_runs_on_the_environment_data_and_reports(sample_project):
    """`kedro run --env sample --pipelines balancing`, then `balancing_report` from the
    setting's tables alone (its predictions gone), two methods."""
    study = {"methods": ["equal", "upgrad"], "networks": ["share_bottom"], "seeds": [1, 2]}
    with pytest.MonkeyPatch.context() as monkeypatch:
        run_kedro(sample_project, monkeypatch, ["balancing"], balancing_study=study)
        root = sample_project / "data" / "sample" / "balancing"
        assert (root / "census" / "tables" / "verdicts.csv").is_file()
        (root / "census" / "predictions.parquet").unlink()  # the report reads the tables only
        run_kedro(sample_project, monkeypatch, ["balancing_report"], balancing_study=study)
    results = pd.read_csv(root / "census" / "results.csv")
    assert len(results) == 6 and set(results["method"]) == {"equal", "upgrad"}
    gains = pd.read_csv(root / "delta_m.csv")
    assert gains["model"].tolist() == ["share_bottom/equal", "share_bottom/upgrad"]
    page = (root / "report.md").read_text()
    assert "### census" in page and "share_bottom under equal against single-task" in page


def test_cli_scores_a_file_reporting_bad_rows(sample_project, tmp_path, monkeypatch):
    """Only a model file and the input: run from an empty folder, with no project beside it."""
    raw = sample_project / "data" / "sample" / "01_raw" / "census-income.test.gz"
    frame = pd.read_csv(raw, header=None, sep=",", skipinitialspace=True, keep_default_na=False)
    frame = frame.iloc[:25, :-1].astype(str)  # no label column
    frame.iloc[3, 1] = "Astronaut"  # unknown category: scored
    frame.iloc[5, 0] = "old"  # bad age: reported, skipped
    frame.iloc[7, 0] = "=HYPERLINK(1)"  # a formula: reported as text, never as a formula
    lines = _rows(frame)
    lines[10] += ", 7"  # one field too many: reported, skipped
    inputs, outputs = tmp_path / "in", tmp_path / "out"
    inputs.mkdir(), outputs.mkdir()
    path = inputs / "new.csv.gz"
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    model = inputs / "mmoe.pt"
    shutil.copy(sample_project / "data" / "sample" / "06_models" / "mmoe" / "model.pt", model)
    monkeypatch.chdir(outputs)
    common = ["--model", str(model), "--chunksize", "10"]
    out = outputs / "scores.csv"
    assert inference_cli(["score", str(path), "--out", str(out), *common]) == 0
    scores = pd.read_csv(out)
    assert list(scores.columns) == ["line", "p_income", "p_marital"]
    assert scores["line"].tolist() == [n for n in range(1, 26) if n not in (6, 8, 11)]
    assert scores[["p_income", "p_marital"]].apply(lambda c: c.between(0, 1)).all().all()
    bad = pd.read_csv(outputs / "scores.bad_rows.csv", keep_default_na=False)
    problem = "coerce_dtype('float64')"
    assert bad.to_dict("records") == [
        {"line": 6, "column": "age", "value": "old", "problem": problem},
        {"line": 8, "column": "age", "value": "'=HYPERLINK(1)", "problem": problem},
        {"line": 11, "column": "", "value": lines[10][:60], "problem": "42 fields; expected 41"},
    ]
    failing = ["score", str(path), "--out", str(out), "--on-bad-rows", "fail"]
    before = out.read_bytes()
    assert inference_cli([*failing, *common]) == 1
    assert out.read_bytes() == before  # never a partial output
    assert sorted(p.name for p in outputs.iterdir()) == ["scores.bad_rows.csv", "scores.csv"]


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--model", "../../../tmp/x", "is outside the model folder"),
        ("--model", "/etc/hostname", "/etc/hostname: not a census-mtl model file"),
        ("--model", "/dev/null", "/dev/null: no such model file"),
    ],
)
def test_cli_refuses_paths_and_files_it_should_not_read(
    sample_project, tmp_path, monkeypatch, capsys, option, value, message
):
    monkeypatch.chdir(sample_project)
    raw = "data/sample/01_raw/census-income.test.gz"
    args = {"--model": "mmoe", "--models-dir": "data/sample/06_models"} | {option: value}
    argv = ["score", raw, "--out", str(tmp_path / "s.csv")]
    for pair in args.items():
        argv += pair
    assert inference_cli(argv) == 1
    assert message in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_cli_help_shows_defaults_and_a_bad_seed_is_a_usage_error(capsys):
    with pytest.raises(SystemExit):
        inference_cli(["score", "--help"])
    shown = " ".join(capsys.readouterr().out.split())  # argparse wraps to the terminal's width
    assert "(default: ple)" in shown and "(default: data/06_models)" in shown
    with pytest.raises(SystemExit) as exit_:
        inference_cli(["export", "--out", "x.onnx", "--run", "first"])
    assert exit_.value.code == 2 and "'first': 'best' or a trained seed" in capsys.readouterr().err


def test_predict_pipeline_refuses_a_model_outside_the_model_folder(sample_project, tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "kedro",
            "run",
            "--env",
            "sample",
            "--pipelines",
            "predict",
            "--params",
            "predict_model=../../../tmp/x",
        ],
        cwd=sample_project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr  # refused before any work
    assert "predict_model = '../../../tmp/x': a model name (ple, cgc" in done.stderr


def test_predict_pipeline_scores_the_catalog_input(sample_project, monkeypatch):
    raw = sample_project / "data" / "sample" / "01_raw" / "census-income.test.gz"
    run_kedro(sample_project, monkeypatch, ["predict"], predict_model="cgc", predict_input=str(raw))
    predictions = pd.read_csv(
        sample_project / "data" / "sample" / "07_model_output" / "predictions.csv"
    )
    assert len(predictions) == 2000 and predictions["line"].is_unique


def test_onnx_export_without_the_extra_says_what_to_install(sample_project, monkeypatch, capsys):
    import census_mtl.inference.export as export

    monkeypatch.setattr(export, "find_spec", lambda name: None if name == "onnxscript" else 1)
    models = str(sample_project / "data" / "sample" / "06_models")
    argv = ["export", "--model", "ple", "--models-dir", models, "--out", "ple.onnx"]
    assert inference_cli(argv) == 1
    assert capsys.readouterr().err == (
        "Error: export: ONNX export needs onnxscript: pip install -e '.[export]' "
        "(make install-dev installs it too)\n"
    )


def test_onnx_export_matches_the_trained_model(sample_project, tmp_path, recwarn):
    for name in ["ple", "single_task"]:
        model = load_artifact(sample_project / "data" / "sample" / "06_models" / name / "model.pt")
        path = export_onnx(model, tmp_path / f"{name}.onnx")
        assert not list(tmp_path.glob("*.data"))  # weights inside the one file
        test = pd.read_parquet(
            sample_project / "data" / "sample" / "05_model_input" / "test.parquet"
        )
        x = test.filter(regex="^(num|cat|bin)__").to_numpy(np.float32)
        session = onnxruntime.InferenceSession(str(path))
        outputs = session.run(None, {"x": x})
        expected = predict(model.network(), torch.from_numpy(x.copy())).numpy()
        for i in range(2):
            np.testing.assert_allclose(outputs[i], expected[:, i], rtol=1e-5, atol=1e-6)
    assert os.path.getsize(path) > 1000
    assert not [w for w in recwarn if "training mode" in str(w.message)]  # exported in eval mode


def run_benchmark(script: str, *args: str, cwd: Path | None = None) -> str:
    """The standard output of ``benchmarks/<script>`` run with ``args`` (it must succeed)."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / script
    done = subprocess.run(
        [sys.executable, str(path), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return done.stdout


def test_benchmark_smoke(sample_project):
    """The speed benchmark still runs, once per seed (ours and the naive PLE; the peer libraries
    are not installed), and summarises test AUC over the seeds."""
    data = sample_project / "data" / "sample" / "05_model_input"
    stdout = run_benchmark(
        "train_speed.py",
        "--data-dir",
        str(data),
        "--epochs",
        "1",
        "--batch-sizes",
        "256",
        "--models",
        "ple",
        "--impls",
        "census-mtl",
        "naive PLE",
        "--seeds",
        "1",
        "2",
    )
    rows = [
        line.split("|")[3:5] for line in stdout.splitlines() if line.startswith("| ple | 256 |")
    ]
    assert [[c.strip() for c in r] for r in rows] == [
        ["1", "census-mtl"],
        ["1", "naive PLE"],
        ["2", "census-mtl"],
        ["2", "naive PLE"],  # runs
        ["census-mtl", "2"],
        ["naive PLE", "2"],  # test AUC over the two seeds
    ]


def test_conflict_by_fraction_smoke(sample_project, tmp_path):
    out = tmp_path / "conflict.json"
    data = sample_project / "data" / "sample" / "05_model_input"
    printed = run_benchmark(
        "conflict_by_fraction.py",
        *("--out", str(out), "--data", str(data), "--fractions", "0.1", "1", "--max-epochs", "2"),
    )
    rows = json.loads(out.read_text())["results"]
    assert [r["income_labels"] for r in rows] == [400, 4000]
    assert all(-1 <= r["mean_grad_cos"] <= 1 for r in rows) and "income   10%" in printed


def test_schedule_study_smoke(sample_project):
    """The schedule study of docs/closing-the-gap.md runs with an override and reports it."""
    data = sample_project / "data" / "sample" / "05_model_input"
    stdout = run_benchmark(
        "schedule_study.py",
        "--model",
        "share_bottom",
        "--data-dir",
        str(data),
        "--override",
        OVERRIDE,
        cwd=sample_project,
    )
    result = json.loads(stdout.splitlines()[-1])
    assert result["epochs"] == len(result["curve"]) == 2
    assert result["override"] == json.loads(OVERRIDE)
    assert all(0.5 < auc <= 1.0 for auc in result["validation_auc"].values())


def test_variants_study_compares_each_variant_with_the_first_on_validation(sample_project):
    """The variant study of docs/closing-the-gap.md: two variants, two seeds, resumable."""
    data = sample_project / "data" / "sample" / "05_model_input"
    out = sample_project / "variants.json"
    args = ["--model", "share_bottom", "--data", str(data), "--env", "sample", "--workers", "1"]
    args += ["--runs", str(sample_project / "variant_runs"), "--out", str(out)]
    args += ["--training", '{"max_epochs": 2}', "--variant", "plain", "{}"]
    args += ["--variant", "ensemble", '{"model": {"batch_ensemble": 2}}']
    stdout = run_benchmark("variants.py", *args, cwd=sample_project)
    result = json.loads(out.read_text())
    assert result["split"] == "validation"
    assert result["command"] == shlex.join(["python", "benchmarks/variants.py", *args])
    assert "share_bottom/ensemble - share_bottom/plain" in stdout
    assert {(r["a"], r["task"]) for r in result["against_first"]} == {
        ("share_bottom/ensemble", t) for t in ("income", "marital")
    }
    assert {r["model"] for r in result["scores"]} == {"share_bottom/plain", "share_bottom/ensemble"}
    assert all(r["seeds"] == 2 and 0.5 < r["mean"] <= 1 for r in result["scores"])
    table = out.with_suffix(".md").read_text().splitlines()
    assert [line.split(" | ")[0] for line in table[2:]] == ["| plain", "| ensemble"]
    assert "(first)" in table[2] and "(first)" not in table[3]
    assert run_benchmark("variants.py", *args, cwd=sample_project) == stdout  # reused, same
    bad = [*args[:-3], "--variant", "wrong", '{"model": {"batch_ensemble": 0}}']
    with pytest.raises(subprocess.CalledProcessError) as failed:
        run_benchmark("variants.py", *bad, cwd=sample_project)
    assert "Error: variant 'wrong': " in failed.value.stderr
    assert "model.batch_ensemble = 0" in failed.value.stderr
    assert "Traceback" not in failed.value.stderr


def profile_args(project: Path) -> list[str]:
    """A few steps of the default single-task network on the sample data."""
    data = project / "data" / "sample" / "05_model_input"
    return [
        "--network",
        "default",
        "--model",
        "single_task",
        "--batch",
        "64",
        "--steps",
        "2",
        "--data-dir",
        str(data),
    ]


def test_profile_step_alternates_eager_and_compiled(sample_project):
    """The eager/compiled comparison of docs/benchmarks.md runs on the default network."""
    lines = run_benchmark(
        "profile_step.py", *profile_args(sample_project), "--alternate", "2", cwd=sample_project
    ).splitlines()
    assert [line.split(":")[0] for line in lines[-3:]] == [
        "single_task (default) batch 64, eager",
        "single_task (default) batch 64, compiled",
        "eager / compiled, round by round",
    ]
    assert len(lines[-1].split(";")[0].split(":")[1].split()) == 2  # one ratio a round


def test_profile_step_reports_time_and_memory(sample_project):
    """The profile mode prints ms/step, the peak RSS around the steps and the operator table."""
    stdout = run_benchmark("profile_step.py", *profile_args(sample_project), cwd=sample_project)
    line = next(x for x in stdout.splitlines() if "ms/step" in x)
    before, after = (int(n) for n in re.findall(r"(\d+) MB before the steps, (\d+) after", line)[0])
    assert 0 < before <= after
    assert "Self CPU time total" in stdout
