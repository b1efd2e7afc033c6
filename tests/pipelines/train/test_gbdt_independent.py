"""The independent GBDT tuning (benchmarks/gbdt_independent.py) on the test fixtures' data."""

import json
import subprocess
import sys

from tests.conftest import PROJECT


def test_independent_tuning_writes_both_sides_and_the_paired_test(inputs, tmp_path):
    train, validation, layout = inputs
    train.to_parquet(tmp_path / "train.parquet")
    validation.to_parquet(tmp_path / "validation.parquet")
    validation.to_parquet(tmp_path / "test.parquet")
    (tmp_path / "feature_layout.json").write_text(json.dumps(layout))
    out = tmp_path / "out.json"
    command = [sys.executable, "benchmarks/gbdt_independent.py", "--out", str(out)]
    command += ["--data", str(tmp_path), "--seeds", "1", "2", "--threads", "1", "--rounds", "60"]
    run = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(out.read_text())
    assert result["seeds"] == [1, 2] and set(result["results"]) == {"income", "marital"}
    for task, row in result["results"].items():
        assert f"{task}: independent - default" in run.stdout
        assert len(row["test_auc"]["default"]) == len(row["test_auc"]["independent"]) == 2
        assert set(row["independent_tuning_validation_auc"]) == {"false", "true"}
        paired = row["independent_minus_default"]
        assert paired["low"] <= paired["difference"] <= paired["high"] and 0 <= paired["p"] <= 1
        assert row["independent_params"]["num_leaves"] >= 2
