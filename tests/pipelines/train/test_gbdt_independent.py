"""The independent GBDT tuning (benchmarks/gbdt_independent.py) on the test fixtures' data."""

import json
import subprocess
import sys

from tests.conftest import PROJECT


def run_benchmark(inputs, tmp_path, *extra: str) -> subprocess.CompletedProcess:
    train, validation, layout = inputs
    train.to_parquet(tmp_path / "train.parquet")
    validation.to_parquet(tmp_path / "validation.parquet")
    validation.to_parquet(tmp_path / "test.parquet")
    (tmp_path / "feature_layout.json").write_text(json.dumps(layout))
    command = [sys.executable, "benchmarks/gbdt_independent.py", "--out", str(tmp_path / "out")]
    command += ["--data", str(tmp_path), "--seeds", "1", "2", "--threads", "1", "--rounds", "60"]
    return subprocess.run(
        [*command, *extra], cwd=PROJECT, capture_output=True, text=True, timeout=600
    )


def test_independent_tuning_writes_every_side_and_the_paired_tests(inputs, tmp_path):
    # base's per-task boosters dropped: the shared keys, with small trees, apply to every task
    small = '{"model": {"num_leaves": 7, "tasks": {"income": null, "marital": null}}}'
    also = ["--also", "small", small]
    run = run_benchmark(inputs, tmp_path, *also)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads((tmp_path / "out").read_text())
    assert result["seeds"] == [1, 2] and set(result["results"]) == {"income", "marital"}
    assert result["also"] == {"small": small}
    for task, row in result["results"].items():
        assert f"{task}: independent - default" in run.stdout
        assert f"{task}: small - default" in run.stdout
        assert set(row["test_auc"]) == {"default", "small", "independent"}
        assert all(len(aucs) == 2 for aucs in row["test_auc"].values())
        assert row["test_auc"]["small"] != row["test_auc"]["default"]
        assert set(row["independent_tuning_validation_auc"]) == {"false", "true"}
        assert set(row["minus_default"]) == {"small", "independent"}
        for paired in row["minus_default"].values():
            assert paired["low"] <= paired["difference"] <= paired["high"]
            assert 0 <= paired["p"] <= 1
        assert row["independent_params"]["num_leaves"] >= 2
    table = (tmp_path / "out.md").read_text().splitlines()[2:]
    assert [line.split(" | ")[:2] for line in table] == [
        ["| " + task, side]
        for task in ("income", "marital")
        for side in ("default", "small", "independent")
    ]


def test_a_bad_configuration_fails_before_any_training(inputs, tmp_path):
    run = run_benchmark(inputs, tmp_path, "--also", "bad", '{"model": {"num_leaves": 0}}')
    assert run.returncode == 1 and not (tmp_path / "out").exists()
    assert run.stderr.startswith("Error: --also bad:") and "Traceback" not in run.stderr
    assert "model.num_leaves = 0" in run.stderr
