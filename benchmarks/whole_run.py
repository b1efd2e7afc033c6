"""The whole default comparison, timed: ``dvc repro --force compare`` from the raw files to the
report (fetch, ingest, preprocess, every model's training and evaluation, the blend, compare),
for the current checkout and, in the same script run, a baseline commit.

    CENSUS_DATA_DIR=../shared/data/census-income \\
        python benchmarks/whole_run.py --baseline 7e17f87 --out docs/whole-run-ab.json

The current checkout runs in place, so its outputs, ``dvc.lock`` and report are the ones to
commit; the baseline runs in a detached ``git worktree`` of its commit (its own DVC cache, its
own source through ``PYTHONPATH``, this environment's packages). Both fetch from
``$CENSUS_DATA_DIR`` and start without checkpoints. DVC announces each stage; a stage's seconds
run from its announcement to the next one's, and its peak RSS is the most that the whole process
tree (DVC and the Kedro run under it) held, sampled every 0.2 s. ``--only current`` skips the
baseline (and ``--only baseline`` the current checkout).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

from census_mtl.atomic import write_bytes
from census_mtl.paired import delong, holm
from census_mtl.provenance import commit as commit_of
from census_mtl.reporting.render import difference, markdown_table

PROJECT = Path(__file__).resolve().parents[1]
STAGE = re.compile(r"Running stage '([^']+)'")


def cpu() -> str:
    """The CPU model and the cores this process may use."""
    names = re.findall(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
    return f"{names[0] if names else 'unknown CPU'}, {len(os.sched_getaffinity(0))} cores"


def tree_rss(process: psutil.Process) -> int:
    """Resident bytes of ``process`` and all its descendants (those that still exist)."""
    total = 0
    for p in [process, *process.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            continue
    return total


def run(command: list[str], folder: Path, log: Path) -> dict:
    """``command`` in ``folder``: its wall time and each stage's seconds and peak RSS."""
    for stale in folder.glob("data/06_models/*/checkpoints"):
        shutil.rmtree(stale)
    env = os.environ | {"PYTHONPATH": str(folder / "src"), "KEDRO_DISABLE_TELEMETRY": "1"}
    env |= {"DO_NOT_TRACK": "1"}
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    stages: list[dict] = []
    reader = threading.Thread(target=_follow, args=(process, log, stages, started))
    reader.start()
    watched = psutil.Process(process.pid)
    while process.poll() is None:
        if stages:
            stages[-1]["peak_rss_mb"] = max(stages[-1]["peak_rss_mb"], tree_rss(watched) >> 20)
        time.sleep(0.2)
    reader.join()
    wall = time.perf_counter() - started
    if process.returncode:
        tail = "".join(log.read_text().splitlines(keepends=True)[-30:])
        raise SystemExit(f"{' '.join(command)} failed in {folder}; its output ends:\n{tail}")
    ends = [s["start"] for s in stages[1:]] + [wall]
    for stage, end in zip(stages, ends, strict=True):
        stage["seconds"] = round(end - stage.pop("start"), 1)
    return {"wall_s": round(wall, 1), "stages": stages}


def _follow(process: subprocess.Popen, log: Path, stages: list[dict], started: float) -> None:
    with log.open("w") as out:
        for line in process.stdout:
            out.write(line)
            match = STAGE.search(line)
            if match:
                now = time.perf_counter() - started
                stages.append({"stage": match[1], "start": now, "peak_rss_mb": 0})


def predictions(folder: Path) -> dict[str, pd.DataFrame]:
    """Every model's test predictions in ``folder`` (one column per task and seed)."""
    files = sorted(folder.glob("data/07_model_output/*/test_predictions.parquet"))
    return {f.parent.name: pd.read_parquet(f) for f in files}


def seed_std(folder: Path) -> dict[tuple[str, str], float]:
    """Each model's standard deviation of the test AUC over its seeds, per task."""
    stds = {}
    for file in folder.glob("data/08_reporting/metrics/*.json"):
        for task, scores in json.loads(file.read_text())["test"].items():
            stds[file.stem, task] = scores.get("auc_std")
    return stds


def seed_mean(frame: pd.DataFrame, task: str) -> np.ndarray:
    """The mean over the seeds of a task's predicted probabilities."""
    return frame.filter(regex=f"^p_{task}_seed").to_numpy().mean(1)


def paired_check(before: dict, after: dict, test: pd.DataFrame, stds: dict) -> list[dict]:
    """Each model's seed-mean test AUC before and after, per task: DeLong's paired difference
    (after - before) on the same rows, Holm-corrected over all models and tasks, beside the
    spread of the single seeds' AUCs before (``stds``: ``seed_std``)."""
    rows = []
    for model in sorted(before.keys() & after.keys()):
        for task in (c.removeprefix("y__") for c in test.columns if c.startswith("y__")):
            labels = test[f"y__{task}"].to_numpy()
            keep = ~np.isnan(labels)
            a, b = (seed_mean(p[model], task)[keep] for p in (before, after))
            paired = vars(delong(labels[keep], b, a))  # difference: after - before
            paired["auc_before"], paired["auc_after"] = paired.pop("auc_b"), paired.pop("auc_a")
            rows.append({"model": model, "task": task, **paired, "seed_std": stds[model, task]})
    for row, adjusted in zip(rows, holm([r["p"] for r in rows]), strict=True):
        row["p_holm"] = float(adjusted)
    return rows


def stage_table(sides: list[dict]) -> str:
    """Each stage's seconds and peak RSS on each side (baseline first), the ratio, and the
    whole run's wall time."""
    head = ["stage", *(f"{s['commit']}: s" for s in sides)]
    head += ["ratio"] if len(sides) == 2 else []
    head += [f"peak RSS MB, {' → '.join(s['commit'] for s in sides)}"]
    by_side = [{st["stage"]: st for st in s["stages"]} for s in sides]
    names = list(dict.fromkeys(name for stages in reversed(by_side) for name in stages))
    rows = []
    for name in [*names, "whole run"]:
        found = [stages.get(name) for stages in by_side]
        seconds = [
            s["wall_s"] if name == "whole run" else (f["seconds"] if f else None)
            for s, f in zip(sides, found, strict=True)
        ]
        cells = [name, *("-" if v is None else f"{v:.0f}" for v in seconds)]
        if len(sides) == 2:
            cells.append(f"{seconds[1] / seconds[0]:.2f}" if None not in seconds else "-")
        peaks = [f"{f['peak_rss_mb']:,}" if f else "-" for f in found]
        cells.append(" → ".join(peaks) if name != "whole run" else "")
        rows.append(cells)
    return markdown_table(head, rows) + "\n"


def check_table(rows: list[dict]) -> str:
    """The paired check: each model's seed-mean test AUC before and after, per task."""
    head = ["model", "task", "AUC before", "AUC after", "after - before [95 %], Holm p"]
    head += ["seed std before"]
    cells = [
        [
            r["model"],
            r["task"],
            f"{r['auc_before']:.5f}",
            f"{r['auc_after']:.5f}",
            difference(r, 5, "p_holm"),
            f"{r['seed_std']:.5f}",
        ]
        for r in rows
    ]
    return markdown_table(head, cells) + "\n"


def side(command: list[str], commit: str | None, scratch: Path) -> dict:
    """One side: the current checkout (``commit`` None) or a worktree of ``commit``."""
    folder = PROJECT
    if commit is not None:
        folder = scratch / commit
        subprocess.run(["git", "worktree", "add", "--detach", folder, commit], check=True)
    try:
        label = commit or "current checkout"
        print(f"{label}: {' '.join(command)} in {folder}", flush=True)
        result = run(command, folder, scratch / f"{commit or 'current'}.log")
        print(f"{label}: {result['wall_s']:.0f} s", flush=True)
        return {"commit": commit_of(folder)} | result
    finally:
        if commit is not None:
            subprocess.run(["git", "worktree", "remove", "--force", folder], check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default="7e17f87", help="the commit to compare against")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--target", default="compare", help="the DVC stage to reproduce")
    parser.add_argument("--out", type=Path, required=True, help="JSON; a .md table beside it")
    args = parser.parse_args()
    if not os.environ.get("CENSUS_DATA_DIR"):
        parser.error("set CENSUS_DATA_DIR to the folder with the census files (the fetch reads it)")
    command = ["dvc", "repro", "--force", args.target]
    with tempfile.TemporaryDirectory(prefix="whole-run-") as scratch:
        baseline = None if args.skip_baseline else side(command, args.baseline, Path(scratch))
        before, stds = predictions(PROJECT), seed_std(PROJECT)
        current = side(command, None, Path(scratch))
    test = pd.read_parquet(PROJECT / "data/05_model_input/test.parquet")
    check = paired_check(before, predictions(PROJECT), test, stds)
    result = {"command": " ".join(command), "cpu": cpu(), **current, "baseline": baseline}
    write_bytes(args.out, (json.dumps(result | {"paired_check": check}, indent=1) + "\n").encode())
    sides = [s for s in (baseline, current) if s is not None]
    table = stage_table(sides) + "\n" + check_table(check)
    write_bytes(args.out.with_suffix(".md"), table.encode())
    print(table)


if __name__ == "__main__":
    main()
