"""A tuning worker for the distributed tests: the project's study and trial loop, with an
objective that sleeps instead of training. ``--hang`` makes the worker stop in its first trial
(after writing ``hung``) so that the test can kill it there.

``python tests/tuning/worker.py SETTINGS_JSON OUT_DIR [--hang]``
"""

import json
import os
import sys
import time
from pathlib import Path

from census_mtl.config import validate
from census_mtl.config.tuning import Tuning
from census_mtl.tuning.space import sample
from census_mtl.tuning.study import open_study
from census_mtl.tuning.workers import run_study

SPACE = {
    "units": {"type": "categorical", "choices": [8, 16, 32, 64]},
    "depth": {"type": "int", "low": 1, "high": 4},
    "dropout": {"type": "float", "low": 0.0, "high": 0.5, "step": 0.1},
}  # 96 configurations: a few dozen trials draw some twice
# Two survivors run the study's trials at this pace: they must outlast the killed worker's
# grace period (3 s), else the study is full before its trial goes stale and none retries it.
TRIAL_SECONDS = 0.6


def main(settings_file: str, out: str, hang: bool) -> None:
    settings = validate(Tuning, json.loads(Path(settings_file).read_text()), "tuning")
    study = open_study("workers", settings, ["task"])

    def evaluate(trial, config: dict) -> float:
        trial.set_user_attr("host", str(os.getpid()))
        if hang:
            (Path(out) / "hung").write_text(str(trial.number))
            time.sleep(3600)
        time.sleep(TRIAL_SECONDS)
        return config["units"] / 64 + config["depth"] / 4 - config["dropout"]

    ran = run_study(study, lambda t: sample(t, SPACE), evaluate, settings.n_trials, None, 0.2)
    (Path(out) / f"ran-{os.getpid()}.json").write_text(json.dumps(ran))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], "--hang" in sys.argv[3:])
