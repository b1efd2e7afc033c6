"""Where a run's results come from: date, commit, Kedro environment and the data it used."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

from census_mtl.config.project import SyntheticData
from census_mtl.data.fetch import RAW_FILES

TRAIN, TEST = RAW_FILES
UCI_DATA = f"UCI Census-Income (KDD): {TRAIN.rows:,} train and {TEST.rows:,} test rows"


def commit(project: Path) -> str:
    """The checked-out commit (``+changes`` when tracked code or settings differ from it), or
    ``unknown``."""
    git = {"cwd": project, "capture_output": True, "text": True, "timeout": 10}
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], check=True, **git)
        # Outputs a run rewrites (data/, dvc.lock) are not changes of the code it ran.
        code = ["--", ".", ":(exclude)data", ":(exclude)dvc.lock"]
        changed = subprocess.run(["git", "status", "--porcelain", "-uno", *code], **git)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head.stdout.strip() + ("+changes" if changed.stdout.strip() else "")


def run_info(project: Path, env: str, synthetic: SyntheticData | None) -> dict[str, str]:
    """The facts the report's header states about this run."""
    data = UCI_DATA
    if synthetic is not None:
        data = (
            f"synthetic census data: {synthetic.train_rows:,} train and "
            f"{synthetic.test_rows:,} test rows (seed {synthetic.seed})"
        )
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit(project),
        "environment": env,
        "data": data,
    }
