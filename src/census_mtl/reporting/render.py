"""The report as Markdown and as one self-contained HTML page (figures embedded as PNG)."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence

import pandas as pd
from matplotlib.figure import Figure

INTRO = (
    "Test split: half of UCI's test file, never used for model selection. AUC is the mean over "
    "seeds ± its standard deviation, with the mean 95 % bootstrap interval in brackets. The "
    "MTL gain is the AUC difference to the single-task baseline, in AUC points times 100; a "
    "seesaw is a gain on one task with a loss on another, both beyond the tolerance set in "
    "compare.seesaw_tolerance."
)


def _cells(table: pd.DataFrame, tasks: Sequence[str]) -> tuple[list[str], list[list[str]]]:
    header = ["model", "parameters", "s/epoch", "best epochs"]
    header += [f"{t} AUC" for t in tasks] + [f"{t} gain" for t in tasks if f"gain_{t}" in table]
    header += ["seesaw"] if "seesaw" in table else []
    rows = []
    for _, r in table.iterrows():
        cells = [
            r["model"],
            f"{r['parameters']:,}",
            f"{r['seconds_per_epoch']:.1f}",
            r["best_epochs"],
        ]
        for t in tasks:
            cells.append(
                f"{r[f'auc_{t}']:.5f} ± {r[f'auc_std_{t}']:.5f} "
                f"[{r[f'auc_ci_low_{t}']:.4f}, {r[f'auc_ci_high_{t}']:.4f}]"
            )
        cells += [f"{100 * r[f'gain_{t}']:+.2f}" for t in tasks if f"gain_{t}" in table]
        if "seesaw" in table:
            cells.append("**seesaw**" if r["seesaw"] else "")
        rows.append(cells)
    return header, rows


def _secondary(table: pd.DataFrame, tasks: Sequence[str]) -> tuple[list[str], list[list[str]]]:
    header = [
        "model",
        *(f"{t} {m}" for t in tasks for m in ("PR-AUC", "log-loss")),
        "inference rows/s",
    ]
    rows = [
        [r["model"], *(f"{r[f'{m}_{t}']:.4f}" for t in tasks for m in ("pr_auc", "log_loss")),
         f"{r['inference_rows_per_s']:,.0f}"]
        for _, r in table.iterrows()
    ]  # fmt: skip
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


def markdown_report(
    table: pd.DataFrame, tasks: Sequence[str], figures: Mapping[str, str], links: Mapping[str, str]
) -> str:
    """Markdown with the tables; ``figures`` maps captions to PNG paths beside the report."""
    parts = ["# Model comparison", "", INTRO, "", _markdown_table(*_cells(table, tasks)), ""]
    parts += ["## Other test metrics", "", _markdown_table(*_secondary(table, tasks)), ""]
    parts += [f"## {caption}\n\n![{caption}]({path})\n" for caption, path in figures.items()]
    if links:
        parts += ["## Tuning", "", *(f"- [{name}]({path})" for name, path in links.items()), ""]
    return "\n".join(parts)


def html_report(
    table: pd.DataFrame,
    tasks: Sequence[str],
    figures: Mapping[str, Figure],
    links: Mapping[str, str],
) -> str:
    """One HTML page with every table and figure inline; it loads nothing from elsewhere."""
    images = "".join(
        f"<h2>{html.escape(caption)}</h2><img alt='{html.escape(caption)}' "
        f"src='data:image/png;base64,{_png(fig)}'>"
        for caption, fig in figures.items()
    )
    tuning = "".join(
        f"<li><a href='{html.escape(p)}'>{html.escape(n)}</a></li>" for n, p in links.items()
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
        f"<p>{html.escape(INTRO)}</p>{_html_table(*_cells(table, tasks))}"
        f"<h2>Other test metrics</h2>{_html_table(*_secondary(table, tasks))}{images}"
        + (f"<h2>Tuning</h2><ul>{tuning}</ul>" if tuning else "")
        + "</body></html>"
    )
