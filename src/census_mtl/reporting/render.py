"""The report as Markdown and as one self-contained HTML page (figures embedded as PNG)."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence

import pandas as pd
from matplotlib.figure import Figure

from census_mtl.reporting.table import SECONDARY

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


class _Cells:
    """The long metrics table, looked up by model, task and metric."""

    def __init__(self, long: pd.DataFrame) -> None:
        self.cells = long.set_index(["model", "task", "metric"])

    def __call__(self, model: str, task: str, metric: str) -> pd.Series | None:
        key = (model, task, metric)
        return self.cells.loc[key] if key in self.cells.index else None


def _score(cells: _Cells, model: str, task: str, score: str) -> str:
    mean, std = cells(model, task, score), cells(model, task, f"{score}_std")
    return f"{mean.value:.5f} ± {std.value:.5f} [{mean.low:.4f}, {mean.high:.4f}]"


def _gain(cells: _Cells, model: str, task: str, score: str) -> str:
    gain = cells(model, task, "gain")
    if gain is None or pd.isna(gain.low):  # the baseline itself
        return ""
    star = "*" if cells(model, task, "gain_sign").value else ""
    # AUC points times 100; MSE as it is (baseline's minus the model's)
    scale, form = (100, "+.2f") if score == "auc" else (1, "+.4g")
    value, low, high = (scale * gain[k] for k in ("value", "low", "high"))
    return f"{value:{form}}{star} [{low:{form}}, {high:{form}}]"


def _ensemble(cells: _Cells, r: pd.Series, scores: Mapping[str, str], width: int) -> list | None:
    found = {t: cells(r["model"], t, f"ensemble_{s}") for t, s in scores.items()}
    if any(e is None for e in found.values()):
        return None
    row = [f"{r['model']}, ensemble of {r['seeds']}", "", "", "", ""]
    row += [f"{e.value:.5f} [{e.low:.4f}, {e.high:.4f}]" for e in found.values()]
    return row + [""] * (width - len(row))


def _cells(
    tables: Mapping[str, pd.DataFrame],
    scores: Mapping[str, str],
    references: Mapping[str, Mapping[str, float]],
) -> tuple[list[str], list[list[str]]]:
    models, long = tables["models"], tables["metrics"]
    cells = _Cells(long)
    gains = [t for t in scores if ((long["metric"] == "gain") & (long["task"] == t)).any()]
    header = ["model", "parameters", "train s", "s/epoch", "best epochs"]
    header += [f"{t} {s.upper()}" for t, s in scores.items()]
    header += [f"{t} gain" for t in gains] + (["seesaw"] if gains else [])
    rows = []
    for _, r in models.iterrows():
        row = [
            r["model"],
            f"{r['parameters']:,}",
            f"{r['train_seconds']:.0f}",
            f"{r['seconds_per_epoch']:.2f}",
            r["best_epochs"],
        ]
        row += [_score(cells, r["model"], t, s) for t, s in scores.items()]
        row += [_gain(cells, r["model"], t, scores[t]) for t in gains]
        row += ["**seesaw**" if r["seesaw"] else ""] if gains else []
        rows.append(row)
        ensemble = _ensemble(cells, r, scores, len(header))
        rows += [ensemble] if ensemble else []
    for label, aucs in references.items():
        row = [f"{label} (published)", "", "", "", ""]
        row += [f"{aucs[t]:.4f}" if t in aucs else "" for t in scores]
        rows.append(row + [""] * (len(header) - len(row)))
    return header, rows


def difference(row: Mapping[str, float], digits: int = 4, p: str | None = None) -> str:
    """A paired difference with its 95 % interval, signed: ``+0.0012 [+0.0003, +0.0021]``;
    followed by ``, <row[p]>`` (two significant digits) when ``p`` names the row's p-value."""
    form = f"+.{digits}f"
    cell = f"{row['difference']:{form}} [{row['low']:{form}}, {row['high']:{form}}]"
    return cell if p is None else f"{cell}, {row[p]:.2g}"


def _paired(paired: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    header = ["comparison", "task", "difference [95 % CI]", "p (Holm)", "per seed", "verdict"]
    rows = [
        [
            f"{r['a']} vs {r['b']}",
            r["task"],
            difference(r),
            f"{r['p_holm']:.2g}",
            " ".join(f"{d:+.4f}" for d in r["per_seed"]),
            r["verdict"].split(": ")[-1],
        ]
        for _, r in paired.iterrows()
    ]
    return header, rows


NAMES = {"pr_auc": "PR-AUC", "log_loss": "log-loss", "r2": "R²", "mae": "MAE"}


def _secondary(
    tables: Mapping[str, pd.DataFrame], scores: Mapping[str, str]
) -> tuple[list[str], list[list[str]]]:
    cells = _Cells(tables["metrics"])
    metrics = [(t, m) for t, s in scores.items() for m in SECONDARY[s]]
    header = ["model", *(f"{t} {NAMES[m]}" for t, m in metrics), "inference rows/s"]
    rows = [
        [
            r["model"],
            *(f"{cells(r['model'], t, m).value:.4f}" for t, m in metrics),
            f"{r['inference_rows_per_s']:,.0f}",
        ]
        for _, r in tables["models"].iterrows()
    ]
    return header, rows


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
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
    scores: Mapping[str, str],
    figures: Mapping[str, str],
    links: Mapping[str, str],
    references: Mapping[str, Mapping[str, float]],
    header: str,
    sections: Mapping[str, list[str]] | None = None,
) -> str:
    """Markdown with the tables (``models``, ``metrics``, ``paired``); ``scores``: each task's
    headline metric; ``figures`` maps captions to PNG paths beside the report; ``sections``
    are titled lists of Markdown lines after the first table."""
    paired = tables["paired"]
    parts = ["# Model comparison", "", f"*{header}*", "", INTRO, ""]
    parts += [markdown_table(*_cells(tables, scores, references)), ""]
    for title, lines in (sections or {}).items():
        parts += [f"## {title}", "", *lines, ""]
    parts += ["## Paired differences", "", PAIRED, "", markdown_table(*_paired(paired)), ""]
    parts += ["## Other test metrics", "", markdown_table(*_secondary(tables, scores)), ""]
    parts += [f"## {caption}\n\n![{caption}]({path})\n" for caption, path in figures.items()]
    if links:
        parts += ["## Tuning", "", *(f"- [{name}]({path})" for name, path in links.items()), ""]
    return "\n".join(parts)


def html_report(
    tables: Mapping[str, pd.DataFrame],
    scores: Mapping[str, str],
    figures: Mapping[str, Figure],
    links: Mapping[str, str],
    references: Mapping[str, Mapping[str, float]],
    header: str,
    sections: Mapping[str, list[str]] | None = None,
) -> str:
    """One HTML page with every table and figure inline; it loads nothing from elsewhere."""
    paired = tables["paired"]
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
        f"{_html_table(*_cells(tables, scores, references))}{notes}"
        f"<h2>Paired differences</h2><p>{html.escape(PAIRED)}</p>{_html_table(*_paired(paired))}"
        f"<h2>Other test metrics</h2>{_html_table(*_secondary(tables, scores))}{images}"
        + (f"<h2>Tuning</h2><ul>{tuning}</ul>" if tuning else "")
        + "</body></html>"
    )
