"""The label-scarcity study: one task's test AUC against the share of its training labels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

VERDICT_COLUMNS = ["difference", "low", "high", "p_holm", "significant"]


def fraction_of(data_report: Mapping, task: str) -> tuple[float, int]:
    """The share of training rows that kept ``task``'s label, and how many rows that is."""
    labelled = int(data_report["labelled_rows"][task]["train"])
    return labelled / int(data_report["rows"]["train"]), labelled


def summary_table(
    tables: Mapping[str, pd.DataFrame], reports: Mapping[str, Mapping], task: str
) -> pd.DataFrame:
    """Per fraction and model: the task's mean test AUC and its std over the seeds.

    ``tables`` and ``reports`` are each run's comparison table and data report, by run.
    """
    frames = []
    for run, table in tables.items():
        fraction, labelled = fraction_of(reports[run], task)
        frames.append(
            pd.DataFrame(
                {
                    "fraction": fraction,
                    "labelled_rows": labelled,
                    "model": table["model"],
                    "auc": table[f"auc_{task}"],
                    "auc_std": table[f"auc_std_{task}"],
                    "seeds": table["seeds"],
                }
            )
        )
    return pd.concat(frames, ignore_index=True).sort_values(["fraction", "model"], kind="stable")


def verdicts(
    paired: Mapping[str, pd.DataFrame],
    reports: Mapping[str, Mapping],
    task: str,
    references: Sequence[str],
) -> pd.DataFrame:
    """Each multi-task model against each of ``references`` on ``task``, per fraction: the AUC
    difference (model minus reference), its DeLong interval and the Holm-adjusted p-value of
    that run's report."""
    frames = []
    for run, table in paired.items():
        rows = table[(table["task"] == task) & table["b"].isin(references)]
        rows = rows[~rows["a"].isin(references)]
        frames.append(
            rows.rename(columns={"a": "model", "b": "against"})[
                ["model", "against", *VERDICT_COLUMNS]
            ].assign(fraction=fraction_of(reports[run], task)[0])
        )
    table = pd.concat(frames, ignore_index=True)
    return table[["fraction", *table.columns[:-1]]].sort_values(
        ["fraction", "against", "model"], kind="stable"
    )


def _best(rows: pd.DataFrame) -> str:
    top = rows.sort_values("difference", ascending=False).iloc[0]
    word = "significant" if top["significant"] else "within the noise"
    return (
        f"{top['model']} {top['difference']:+.4f} [{top['low']:+.4f}, {top['high']:+.4f}], "
        f"Holm p = {top['p_holm']:.2g}, {word}"
    )


def _against(rows: pd.DataFrame, reference: str) -> str:
    versus = rows[rows["against"] == reference]
    significant = versus[versus["significant"]]
    gains = significant[significant["difference"] > 0]["model"].tolist()
    losses = significant[significant["difference"] < 0]["model"].tolist()
    return (
        f"against {reference}, significant gains: {', '.join(gains) or 'none'}; losses: "
        f"{', '.join(losses) or 'none'}; best {_best(versus)}"
    )


def findings(table: pd.DataFrame, summary: pd.DataFrame, references: Sequence[str]) -> list[str]:
    """One sentence per fraction: which multi-task models beat (or lose to) each reference
    significantly, and the best multi-task model with its interval."""
    lines = []
    for fraction, rows in table.groupby("fraction", sort=True):
        labelled = summary.loc[summary["fraction"] == fraction, "labelled_rows"].iloc[0]
        parts = [_against(rows, r) for r in references if (rows["against"] == r).any()]
        lines.append(f"- **{fraction:.0%}** ({labelled:,} labels): " + ". ".join(parts) + ".")
    return lines


def auc_figure(summary: pd.DataFrame, task: str) -> Figure:
    """Test AUC against the share of labelled training rows (log axis), one line per model,
    mean ± std over the seeds."""
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    for model, rows in summary.groupby("model", sort=False):
        ax.errorbar(
            rows["fraction"],
            rows["auc"],
            yerr=rows["auc_std"],
            marker="o",
            markersize=4,
            capsize=3,
            label=model,
            linewidth=1.2,
        )
    fractions = sorted(summary["fraction"].unique())
    ax.set_xscale("log")
    ax.set_xticks(fractions, [f"{f:.0%}" for f in fractions])
    ax.set(
        title=f"{task}: test AUC against its labelled training rows (mean ± std over seeds)",
        xlabel=f"share of training rows with a {task} label (log scale)",
        ylabel=f"test AUC, {task}",
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncols=2)
    fig.tight_layout()
    return fig


def markdown(
    summary: pd.DataFrame, table: pd.DataFrame, references: Sequence[str], header: Sequence[str]
) -> str:
    """The study's report: the AUC table, one sentence per fraction, every verdict."""
    fractions = sorted(summary["fraction"].unique())
    labels = [f"{f:.0%}" for f in fractions]
    lines = [
        *header,
        "",
        f"{SNIPPET} [start:auc] -->",
        "| model | " + " | ".join(labels) + " |",
        "|---" * (len(labels) + 1) + "|",
    ]
    for model, rows in summary.groupby("model", sort=False):
        by_fraction = rows.set_index("fraction")
        cells = [
            f"{by_fraction.at[f, 'auc']:.4f} ± {by_fraction.at[f, 'auc_std']:.4f}"
            if f in by_fraction.index
            else ""
            for f in fractions
        ]
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    lines += [
        f"{SNIPPET} [end:auc] -->",
        "",
        f"## Where multi-task learning gains, against {' and '.join(references)}",
        "",
        f"{SNIPPET} [start:gains] -->",
        PAIRED,
        "",
        *findings(table, summary, references),
        f"{SNIPPET} [end:gains] -->",
        "",
        "## Every verdict",
        "",
        "| fraction | model | against | difference [95 % CI] | Holm p | significant |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.fraction:.0%} | {r.model} | {r.against} | {r.difference:+.4f} "
        f"[{r.low:+.4f}, {r.high:+.4f}] | {r.p_holm:.2g} | {'yes' if r.significant else 'no'} |"
        for r in table.itertuples()
    ]
    lines += ["", "![Test AUC against the share of labelled rows](test_auc.png)", ""]
    return "\n".join(lines)


# Bounds of the sections that docs/studies.md includes (MkDocs snippets; invisible here).
SNIPPET = "<!-- --8<--"
PAIRED = (
    "Each fraction's own comparison report pairs the models on the same test rows: the AUC "
    "difference of the seed-mean predictions (model minus reference), DeLong's 95 % interval, "
    "and the p-value Holm-adjusted over every comparison of that report. Validation and test "
    "keep every label; only the training labels are scarce."
)
