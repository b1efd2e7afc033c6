"""Tuning throughput with 1 and with 2 worker processes on one study, in one script run.

Each round starts N ``kedro run --env sample --pipelines tune_ple`` processes at once on a new
SQLite study (any storage the workers share behaves the same; a PostgreSQL URL lets them run
on different machines) and times them until the study holds ``--trials`` finished trials.
Every worker trains with one CPU thread, so two workers use the two cores one worker leaves
half idle. Prints a Markdown table (wall time including Kedro's start, trials per minute).

    python benchmarks/tuning_workers.py --trials 12 --out docs/tuning-workers.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna

PROJECT = Path(__file__).resolve().parents[1]


def _round(workers: int, trials: int, folder: Path) -> dict:
    storage = f"sqlite:///{folder}/workers-{workers}.db"
    params = f"tuning.storage={storage},tuning.n_trials={trials},training_defaults.num_threads=1"
    command = [
        sys.executable,
        "-m",
        "kedro",
        "run",
        "--env",
        "sample",
        "--pipelines",
        "tune_ple",
        "--params",
        params,
    ]
    env = os.environ | {"KEDRO_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "1"}
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            command,
            cwd=PROJECT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(workers)
    ]
    for proc in procs:
        _, err = proc.communicate()
        if proc.returncode:
            raise SystemExit(f"worker failed:\n{err[-3000:]}")
    wall = time.perf_counter() - started
    study = optuna.load_study(study_name="ple-mean_auc", storage=storage)
    done = [t for t in study.trials if t.state.is_finished() and t.state.name != "FAIL"]
    span = max(t.datetime_complete for t in done) - min(t.datetime_start for t in done)
    return {
        "workers": workers,
        "finished_trials": len(done),
        "distinct_configurations": len({tuple(sorted(t.params.items())) for t in done}),
        "wall_seconds": round(wall, 1),
        "trials_per_minute": round(60 * len(done) / wall, 2),
        "trials_per_minute_first_start_to_last_end": round(60 * len(done) / span.seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for workers in (1, 2):
            rows.append(_round(workers, args.trials, Path(folder)))
    print(
        "| workers | finished trials | distinct | wall s | trials/min | trials/min, trials only |"
    )
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['workers']} | {r['finished_trials']} | {r['distinct_configurations']} | "
            f"{r['wall_seconds']} | {r['trials_per_minute']} | "
            f"{r['trials_per_minute_first_start_to_last_end']} |"
        )
    if args.out:
        args.out.write_text(json.dumps({"cpu_count": os.cpu_count(), "rounds": rows}, indent=2))


if __name__ == "__main__":
    main()
