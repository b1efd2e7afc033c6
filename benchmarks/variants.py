"""Variants of one network's parameters on validation, every seed: each variant against the first
with DeLong's test, the study behind docs/closing-the-gap.md's variant tables.

    python benchmarks/variants.py --model ple --out docs/variants-ple.json \\
        --variant periodic '{}' \\
        --variant pwl '{"model": {"numeric_embedding": {"kind": "piecewise_linear",
                                  "frequencies": null, "sigma": null}}}' \\
        --variant tabm_8 '{"model": {"batch_ensemble": 8}}'

(the defaults' embedding is periodic: switching kind sets the periodic keys to null.)

Each variant's JSON is merged into the model's section (its ``model`` and ``training`` blocks) of
the Kedro environment (``--env``) by the project's one merge rule, after ``--training`` (the
same for every variant, e.g. ``'{"max_epochs": 2}'``). Every variant trains with every seed of
``training_defaults.seeds`` (or ``--seeds``) on ``data/05_model_input``, ``--workers``
trainings at a time with ``--threads`` each. Finished trainings are kept in ``--runs`` and a
rerun reuses them. It writes, per variant and task, the validation AUC of every training (mean
and std over seeds) and of the seed-mean predictions, the mean epochs and seconds of a training,
and DeLong's test of the seed-mean predictions against the first variant, Holm-corrected, and the
same as a Markdown table beside it (``--out`` with ``.md``), which the docs include. The test
split is never read: the study's "test" rows are the validation rows.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import pandas as pd
from kedro.config import OmegaConfigLoader

from census_mtl.atomic import write_bytes
from census_mtl.config import training_settings
from census_mtl.config.base import ConfigError, merge_settings
from census_mtl.models.registry import model_params
from census_mtl.provenance import commit
from census_mtl.reporting.balancing import conflict, model_frames, seed_scores, task_types
from census_mtl.reporting.comparisons import paired_rows
from census_mtl.reporting.render import difference, markdown_table
from census_mtl.training.data import training_inputs
from census_mtl.training.grid import Job, StudyData, run_grid


def variant_jobs(
    model: str, variants: dict[str, dict], parameters: dict, tasks: list[str], args
) -> list[Job]:
    """Every variant with every seed: ``Job.method`` carries the variant's name."""
    common = json.loads(args.training) | {"num_threads": args.threads}
    common |= {"seeds": args.seeds} if args.seeds else {}
    jobs = []
    for name, override in variants.items():
        spec = merge_settings(parameters[model], override)
        try:
            params = model_params(spec["model"]["name"], spec["model"])
            training = training_settings(
                parameters["training_defaults"], spec.get("training") or {}, common, tasks=tasks
            )
        except ConfigError as error:
            raise ConfigError(f"variant {name!r}: {error}") from None
        jobs += [Job(model, params, name, training, seed) for seed in training.seeds]
    return jobs


def validation_study(data_dir: Path, parameters: dict) -> StudyData:
    """The model input's training and validation rows, validation standing in for test."""
    frames = {s: pd.read_parquet(data_dir / f"{s}.parquet") for s in ("train", "validation")}
    layout = json.loads((data_dir / "feature_layout.json").read_text())
    data = training_inputs(
        frames["train"], frames["validation"], layout, parameters["preprocess"]["tasks"]
    )
    return StudyData(
        "validation",
        tuple(data.tasks),
        tuple(data.types),
        data.layout,
        data.train,
        data.validation,
        data.validation,
        data.spaces,
    )


def summary(results: pd.DataFrame, predictions: pd.DataFrame, first: str, alpha: float) -> dict:
    """Per variant and task, the seeds' scores; the cost; each variant against ``first``."""
    types, frames = task_types(results), model_frames(predictions)
    labels = predictions.filter(like="y__")
    pairs = [(name, first) for name in frames if name != first]
    paired = paired_rows(frames, labels, types, pairs, alpha)
    keep = ["a", "b", "task", "score_a", "score_b", "difference", "low", "high", "p", "p_holm"]
    return {
        "scores": seed_scores(frames, labels, types).to_dict("records"),
        "cost": conflict(results)[["model", "train_seconds", "epochs"]].to_dict("records"),
        "against_first": paired[[*keep, "significant"]].to_dict("records"),
    }


def variant_table(result: dict) -> str:
    """The variants as a table: validation AUC over seeds, the seed-mean predictions' difference
    from the first variant with its interval and Holm-corrected p, and the cost of a training."""
    tasks = list(dict.fromkeys(row["task"] for row in result["scores"]))
    scores = {(r["model"], r["task"]): r for r in result["scores"]}
    against = {(r["a"], r["task"]): r for r in result["against_first"]}
    head = ["variant", *(f"{t} (mean ± std)" for t in tasks)]
    head += [f"{t} vs first [95 %], Holm p" for t in tasks] + ["epochs", "s / training"]
    rows = []
    for cost in result["cost"]:
        model = cost["model"]
        cells = [model.split("/", 1)[1]]
        cells += [f"{scores[model, t]['mean']:.5f} ± {scores[model, t]['std']:.5f}" for t in tasks]
        for task in tasks:
            row = against.get((model, task))
            cells.append("(first)" if row is None else difference(row, 5, "p_holm"))
        rows.append([*cells, f"{cost['epochs']:.1f}", f"{cost['train_seconds']:.0f}"])
    return markdown_table(head, rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument(
        "--variant", nargs=2, action="append", required=True, metavar=("NAME", "JSON")
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=Path("data/05_model_input"))
    parser.add_argument("--env", default="local", help="the Kedro environment of the defaults")
    parser.add_argument("--runs", type=Path, default=Path("data/variants/runs"))
    parser.add_argument("--seeds", type=int, nargs="+")
    parser.add_argument("--training", default="{}", help="JSON merged into every training")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    try:
        variants = {name: json.loads(text) for name, text in args.variant}
        json.loads(args.training)
    except json.JSONDecodeError as error:
        parser.error(f"--variant and --training take JSON: {error}")
    loader = OmegaConfigLoader(
        "conf", base_env="base", default_run_env=args.env, merge_strategy={"parameters": "soft"}
    )
    parameters = loader["parameters"]
    data = validation_study(args.data, parameters)
    try:
        jobs = variant_jobs(args.model, variants, parameters, list(data.tasks), args)
    except ConfigError as error:
        raise SystemExit(f"Error: {error}") from None
    results, predictions = run_grid(jobs, data, args.runs / args.model, args.workers)
    first = f"{args.model}/{next(iter(variants))}"
    command = shlex.join(["python", "benchmarks/variants.py", *sys.argv[1:]])
    result = {"command": command, "commit": commit(Path.cwd())}
    result |= {"model": args.model, "variants": variants, "split": "validation"}
    result |= summary(results, predictions, first, parameters["compare"]["alpha"])
    for row in result["against_first"]:
        print(f"{row['a']} - {row['b']}, {row['task']}: {difference(row, 5, 'p_holm')} (Holm p)")
    write_bytes(args.out, (json.dumps(result, indent=2) + "\n").encode())
    write_bytes(args.out.with_suffix(".md"), variant_table(result).encode())


if __name__ == "__main__":
    main()
