"""The report as Markdown and as one self-contained HTML page (figures embedded as PNG)."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence

import pandas as pd
from matplotlib.figure import Figure

from census_mtl.reporting.table import SECONDARY, score_of

INTRO = (
    "Test split: half of the data set's test file (the other half is validation), never used for "
    "model selection. A model's AUC is the "
    "mean over its seeds ± their standard deviation, with the mean 95 % bootstrap interval in "
    "brackets; its ensemble row scores the mean of the seeds' probabilities. The MTL gain is the "
    "paired AUC difference to the single-task baseline on the same rows (seed-mean predictions, "
    "DeLong's 95 % interval), in AUC points times 100, starred where Holm-adjusted p < alpha; a "
    "seesaw is a significant gain on one task with a significant loss on another. A GBDT's size is "
    "the number of leaves of its trees. Published rows are the papers' figures on the real data, "
    "not measured here."
)


def _item(line: str) -> str:
    """A Markdown list line as an HTML list item (bold marks dropped)."""
    return f"<li>{html.escape(line.removeprefix('- ').replace('**', ''))}</li>"


def _auc(r: pd.Series, t: str) -> str:
    s = score_of(r, t)
    return (
        f"{r[f'{s}_{t}']:.5f} ± {r[f'{s}_std_{t}']:.5f} "
        f"[{r[f'{s}_ci_low_{t}']:.4f}, {r[f'{s}_ci_high_{t}']:.4f}]"
    )


def _gain(r: pd.Series, t: str) -> str:
    if pd.isna(r[f"gain_low_{t}"]):  # the baseline itself
        return ""
    star = "*" if r[f"gain_sign_{t}"] else ""
    # AUC points times 100; MSE as it is (baseline's minus the model's)
    scale, form = (100, "+.2f") if score_of(r, t) == "auc" else (1, "+.4g")
    gain, low, high = (scale * r[f"{c}_{t}"] for c in ("gain", "gain_low", "gain_high"))
    return f"{gain:{form}}{star} [{low:{form}}, {high:{form}}]"


def _ensemble(r: pd.Series, tasks: Sequence[str], width: int) -> list[str] | None:
    first = f"ensemble_{score_of(r, tasks[0])}_{tasks[0]}"
    if first not in r or pd.isna(r[first]):
        return None
    cells = [f"{r['model']}, ensemble of {r['seeds']}", "", "", "", ""]
    cells += [
        f"{r[f'ensemble_{s}_{t}']:.5f} [{r[f'ensemble_{s}_ci_low_{t}']:.4f}, "
        f"{r[f'ensemble_{s}_ci_high_{t}']:.4f}]"
        for t in tasks
        for s in [score_of(r, t)]
    ]
    return cells + [""] * (width - len(cells))


def _cells(
    table: pd.DataFrame, tasks: Sequence[str], references: Mapping[str, Mapping[str, float]]
) -> tuple[list[str], list[list[str]]]:
    gains = [t for t in tasks if f"gain_{t}" in table]
    header = ["model", "parameters", "train s", "s/epoch", "best epochs"]
    header += [f"{t} {score_of(table.iloc[0], t).upper()}" for t in tasks]
    header += [f"{t} gain" for t in gains]
    header += ["seesaw"] if "seesaw" in table else []
    rows = []
    for _, r in table.iterrows():
        cells = [
            r["model"],
            f"{r['parameters']:,}",
            f"{r['train_seconds']:.0f}",
            f"{r['seconds_per_epoch']:.2f}",
            r["best_epochs"],
        ]
        cells += [_auc(r, t) for t in tasks] + [_gain(r, t) for t in gains]
        cells += ["**seesaw**" if r["seesaw"] else ""] if "seesaw" in table else []
        rows.append(cells)
        ensemble = _ensemble(r, tasks, len(header))
        rows += [ensemble] if ensemble else []
    for label, aucs in references.items():
        cells = [f"{label} (published)", "", "", "", ""]
        cells += [f"{aucs[t]:.4f}" if t in aucs else "" for t in tasks]
        rows.append(cells + [""] * (len(header) - len(cells)))
    return header, rows


def _paired(paired: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    header = ["comparison", "task", "difference [95 % CI]", "p (Holm)", "per seed", "verdict"]
    rows = [
        [
            f"{r['a']} vs {r['b']}",
            r["task"],
            f"{r['difference']:+.4f} [{r['low']:+.4f}, {r['high']:+.4f}]",
            f"{r['p_holm']:.2g}",
            " ".join(f"{d:+.4f}" for d in r["per_seed"]),
            r["verdict"].split(": ")[-1],
        ]
        for _, r in paired.iterrows()
    ]
    return header, rows


NAMES = {"pr_auc": "PR-AUC", "log_loss": "log-loss", "r2": "R²", "mae": "MAE"}


def _secondary(table: pd.DataFrame, tasks: Sequence[str]) -> tuple[list[str], list[list[str]]]:
    first = table.iloc[0]
    metrics = [(t, m) for t in tasks for m in SECONDARY[score_of(first, t)]]
    header = ["model", *(f"{t} {NAMES[m]}" for t, m in metrics), "inference rows/s"]
    rows = [
        [
            r["model"],
            *(f"{r[f'{m}_{t}']:.4f}" for t, m in metrics),
            f"{r['inference_rows_per_s']:,.0f}",
        ]
        for _, r in table.iterrows()
    ]
    return header, rows


def _markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(map(str, r)) + " |" for r in rows])


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c)).replace('**', '')}</td>" for c in r) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _png(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


PAIRED = (
    "Differences of the seed-mean test predictions on the same rows (a minus b), with DeLong's "
    "95 % interval (unadjusted) and the p-value Holm-adjusted over every comparison and task; "
    "the verdict follows the adjusted p-value. 'per seed' is the same difference for each "
    "seed's single models."
)


def provenance(run_info: Mapping[str, str], seeds: Sequence[int]) -> str:
    """One line: when, from which commit and environment, on which data, with which seeds."""
    return (
        f"Run {run_info.get('date', '?')}, commit {run_info.get('commit', '?')}, Kedro "
        f"environment '{run_info.get('environment', '?')}'; data: {run_info.get('data', '?')}; "
        f"seeds {', '.join(map(str, seeds))}."
    )


def markdown_report(
    tables: Mapping[str, pd.DataFrame],
    tasks: Sequence[str],
    figures: Mapping[str, str],
    links: Mapping[str, str],
    references: Mapping[str, Mapping[str, float]],
    header: str,
    sections: Mapping[str, list[str]] | None = None,
) -> str:
    """Markdown with the tables; ``figures`` maps captions to PNG paths beside the report;
    ``sections`` are titled lists of Markdown lines after the first table."""
    table, paired = tables["models"], tables["paired"]
    parts = ["# Model comparison", "", f"*{header}*", "", INTRO, ""]
    parts += [_markdown_table(*_cells(table, tasks, references)), ""]
    for title, lines in (sections or {}).items():
        parts += [f"## {title}", "", *lines, ""]
    parts += ["## Paired differences", "", PAIRED, "", _markdown_table(*_paired(paired)), ""]
    parts += ["## Other test metrics", "", _markdown_table(*_secondary(table, tasks)), ""]
    parts += [f"## {caption}\n\n![{caption}]({path})\n" for caption, path in figures.items()]
    if links:
        parts += ["## Tuning", "", *(f"- [{name}]({path})" for name, path in links.items()), ""]
    return "\n".join(parts)


def html_report(
    tables: Mapping[str, pd.DataFrame],
    tasks: Sequence[str],
    figures: Mapping[str, Figure],
    links: Mapping[str, str],
    references: Mapping[str, Mapping[str, float]],
    header: str,
    sections: Mapping[str, list[str]] | None = None,
) -> str:
    """One HTML page with every table and figure inline; it loads nothing from elsewhere."""
    table, paired = tables["models"], tables["paired"]
    images = "".join(
        f"<h2>{html.escape(caption)}</h2><img alt='{html.escape(caption)}' "
        f"src='data:image/png;base64,{_png(fig)}'>"
        for caption, fig in figures.items()
    )
    tuning = "".join(
        f"<li><a href='{html.escape(p)}'>{html.escape(n)}</a></li>" for n, p in links.items()
    )
    notes = "".join(
        f"<h2>{html.escape(title)}</h2><ul>{''.join(map(_item, lines))}</ul>"
        for title, lines in (sections or {}).items()
    )
    style = (
        "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222}"
        "table{border-collapse:collapse;margin:1em 0;font-size:14px}"
        "th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}"
        "th:first-child,td:first-child{text-align:left}img{max-width:100%}"
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>census-mtl: model comparison"
        f"</title><style>{style}</style></head><body><h1>Model comparison</h1>"
        f"<p><em>{html.escape(header)}</em></p><p>{html.escape(INTRO)}</p>"
        f"{_html_table(*_cells(table, tasks, references))}{notes}"
        f"<h2>Paired differences</h2><p>{html.escape(PAIRED)}</p>{_html_table(*_paired(paired))}"
        f"<h2>Other test metrics</h2>{_html_table(*_secondary(table, tasks))}{images}"
        + (f"<h2>Tuning</h2><ul>{tuning}</ul>" if tuning else "")
        + "</body></html>"
    )
