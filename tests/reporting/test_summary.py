"""The README's generated results and the docs' pictures match the committed results."""

from __future__ import annotations

import json

import pandas as pd

from census_mtl.reporting import summary
from tests.conftest import PROJECT


def test_readme_is_short():
    assert len((PROJECT / "README.md").read_bytes()) <= 12_000


def test_readme_results_are_generated_from_the_committed_table():
    readme = (PROJECT / "README.md").read_text()
    table = pd.read_csv(PROJECT / summary.TABLE)
    block = readme.split(summary.BEGIN, 1)[1].split(summary.END, 1)[0]
    assert block.strip() == summary.results_table(table), (
        "run `python -m census_mtl.reporting.summary`"
    )


def test_every_picture_is_newer_than_what_it_shows():
    recorded = json.loads((PROJECT / summary.IMAGES / "sources.json").read_text())
    now = summary.sources(PROJECT)
    assert set(recorded) == set(now)
    for name, source in now.items():
        assert (PROJECT / summary.IMAGES / name).exists(), name
        fix = "python docs/screenshots.py" if name in summary.SCREENSHOTS else "the summary module"
        assert recorded[name] == source, f"{name} is older than its source: run {fix}"


def test_results_table_has_a_row_per_model_and_a_column_per_task():
    table = pd.DataFrame(
        {
            "model": ["ple", "gbdt"],
            "auc_income": [0.9531, 0.9548],
            "auc_std_income": [0.0005, 0.0002],
            "auc_ci_low_income": [0.95, 0.95],
            "ensemble_auc_income": [0.9542, 0.9552],
            "train_seconds": [70.2, 13.0],
        }
    )
    assert summary.binary_tasks(table) == ["income"]
    assert summary.results_table(table).splitlines() == [
        "| model | test AUC income | ensemble income | train s/seed |",
        "|---|---|---|---|",
        "| ple | 0.95310 ± 0.00050 | 0.95420 | 70 |",
        "| gbdt | 0.95480 ± 0.00020 | 0.95520 | 13 |",
    ]
    readme = f"intro\n{summary.BEGIN}\nold\n{summary.END}\nrest"
    assert summary.readme_with(readme, "new") == f"intro\n{summary.BEGIN}\nnew\n{summary.END}\nrest"
