"""The balancing study in plain words: per setting, whether the tasks conflict, whether a
network under ``equal`` gains or loses against single-task (a seesaw: one task gains while
another loses), which methods change that, and whether architecture or balancing moves Δm
more; with the figure of Δm and the Markdown report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from census_mtl.reporting.balancing import BASELINE, REFERENCE
from census_mtl.reporting.comparisons import better
from census_mtl.reporting.render import markdown_table


def outcome(row: Mapping) -> str:
    """``gains``, ``loses`` or ``ties``: model ``a`` against ``b`` after Holm's correction."""
    if not row["significant"]:
        return "ties"
    return "gains" if better(row) else "loses"


def _interval(row: Mapping) -> str:
    return f"{row['difference']:+.4f} [{row['low']:+.4f}, {row['high']:+.4f}]"


def against_single_task(paired: pd.DataFrame, network: str) -> str:
    """How ``network`` under ``equal`` fares against single-task, task by task."""
    rows = paired[(paired["a"] == f"{network}/{REFERENCE}") & (paired["b"] == BASELINE)]
    outcomes = {r["task"]: outcome(r) for _, r in rows.iterrows()}
    parts = ", ".join(
        f"{outcomes[r['task']]} on {r['task']} {_interval(r)}" for _, r in rows.iterrows()
    )
    kinds = set(outcomes.values())
    shape = next(
        name
        for name, needs in (
            ("a seesaw", {"gains", "loses"}),
            ("a significant loss", {"loses"}),
            ("a gain", {"gains"}),
            ("a tie", set()),
        )
        if needs <= kinds
    )
    return f"{network} under equal against single-task: {parts}, {shape}."


def against_equal(paired: pd.DataFrame, network: str) -> str:
    """The methods that differ significantly from ``equal`` on ``network``, task by task."""
    rows = paired[
        (paired["b"] == f"{network}/{REFERENCE}")
        & ~paired["a"].str.endswith(f"/{REFERENCE}")  # the other network: architecture_line
        & paired["significant"]
    ]
    if rows.empty:
        return f"{network}: no method differs significantly from equal on any task."
    parts = [
        f"{r['a'].split('/')[1]} {outcome(r)} on {r['task']} {_interval(r)}"
        for _, r in rows.iterrows()
    ]
    return f"{network} against equal: {'; '.join(parts)}."


def architecture_line(paired: pd.DataFrame) -> list[str]:
    """The networks against each other under ``equal``, task by task."""
    rows = paired[
        paired["a"].str.endswith(f"/{REFERENCE}")
        & paired["b"].str.endswith(f"/{REFERENCE}")
        & (paired["b"] != BASELINE)
    ]
    return [
        f"{r['a']} against {r['b']}: {outcome(r)} on {r['task']} {_interval(r)}."
        for _, r in rows.iterrows()
    ]


def loss_repairs(paired: pd.DataFrame, network: str) -> list[str]:
    """Where ``network`` under ``equal`` loses to single-task on a task: the methods that make
    it a tie or a gain there."""
    losses = paired[
        (paired["a"] == f"{network}/{REFERENCE}")
        & (paired["b"] == BASELINE)
        & paired["significant"]
    ]
    lines = []
    for _, loss in losses[[not better(r) for _, r in losses.iterrows()]].iterrows():
        rows = paired[
            paired["a"].str.startswith(f"{network}/")
            & (paired["b"] == BASELINE)
            & (paired["task"] == loss["task"])
        ]
        fixed = [r["a"].split("/")[1] for _, r in rows.iterrows() if outcome(r) != "loses"]
        lines.append(
            f"{network}'s loss on {loss['task']} becomes a tie or a gain with: "
            f"{', '.join(fixed) if fixed else 'no method'}."
        )
    return lines


def conflict_line(gains: pd.DataFrame, networks: Sequence[str]) -> str:
    """The tasks' mean gradient cosine on the shared parameters under ``equal``."""
    cosines = gains.set_index("model")["grad_cos"]
    parts = [f"{n} {cosines.get(f'{n}/{REFERENCE}', float('nan')):+.3f}" for n in networks]
    return (
        f"Gradient cosine of the tasks on the shared parameters under equal (mean over epochs "
        f"and seeds; below 0 the tasks conflict): {', '.join(parts)}."
    )


def architecture_or_balancing(
    gains: pd.DataFrame, paired: pd.DataFrame, networks: Sequence[str]
) -> str:
    """Whether the networks or the methods move the results beyond the noise: the paired
    tests of the networks under ``equal`` and of each method against ``equal``, and the spans
    of Δm (in percentage points) that they explain."""
    by_model = gains.set_index("model")["delta_m"]
    spans = ", ".join(
        f"{n} {by_model[by_model.index.str.startswith(f'{n}/')].min():+.2f} to "
        f"{by_model[by_model.index.str.startswith(f'{n}/')].max():+.2f}"
        for n in networks
    )
    within = paired["b"].str.endswith(f"/{REFERENCE}") & (paired["b"] != BASELINE)
    equal = within & paired["a"].str.endswith(f"/{REFERENCE}")
    method = within & ~equal
    counts = {
        name: (int(paired.loc[rows, "significant"].sum()), int(rows.sum()))
        for name, rows in (("architecture", equal), ("balancing", method))
    }
    parts = [f"{k} {s} of {n}" for k, (s, n) in counts.items() if n]
    moved = [k for k, (s, _) in counts.items() if s]
    verdict = (
        "neither moves a task's score beyond the noise"
        if not moved
        else f"only {moved[0]} moves a task's score beyond the noise"
        if len(moved) == 1
        else "both move a task's score beyond the noise"
    )
    return (
        f"Δm across the methods (%): {spans}. Significant paired tests: {', '.join(parts)}; "
        f"{verdict}."
    )


def best_line(gains: pd.DataFrame) -> str:
    """The model with the largest Δm, with its interval, against its network's ``equal``."""
    best = gains.loc[gains["delta_m"].idxmax()]
    equal = gains.set_index("model")["delta_m"].get(f"{best['model'].split('/')[0]}/{REFERENCE}")
    return (
        f"Largest Δm: {best['model']} {best['delta_m']:+.2f} % [{best['low']:+.2f}, "
        f"{best['high']:+.2f}] (equal on the same network {equal:+.2f} %)."
    )


def setting_findings(
    gains: pd.DataFrame, paired: pd.DataFrame, networks: Sequence[str]
) -> list[str]:
    """One setting's findings, a Markdown bullet each."""
    lines = [conflict_line(gains, networks)]
    for network in networks:
        lines += [against_single_task(paired, network), *loss_repairs(paired, network)]
        lines.append(against_equal(paired, network))
    lines += [*architecture_line(paired), best_line(gains)]
    lines.append(architecture_or_balancing(gains, paired, networks))
    return [f"- {line}" for line in lines]


def delta_m_figure(gains: pd.DataFrame, networks: Sequence[str]) -> Figure:
    """Δm with its 95 % interval per method, a panel per setting, a colour per network."""
    settings = list(dict.fromkeys(gains["setting"]))
    figure, axes = plt.subplots(1, len(settings), figsize=(4.2 * len(settings), 3.6), squeeze=False)
    for axis, setting in zip(axes[0], settings, strict=True):
        rows = gains[gains["setting"] == setting]
        methods = list(dict.fromkeys(m.split("/")[1] for m in rows["model"]))
        for offset, network in enumerate(networks):
            own = rows[rows["model"].str.startswith(f"{network}/")].set_index("model")
            x = [methods.index(m.split("/")[1]) + 0.15 * (offset - 0.5) for m in own.index]
            error = [own["delta_m"] - own["low"], own["high"] - own["delta_m"]]
            axis.errorbar(x, own["delta_m"], yerr=error, fmt="o", ms=4, capsize=2, label=network)
        axis.axhline(0.0, color="grey", lw=0.8)
        axis.set_xticks(range(len(methods)), methods, rotation=60, ha="right", fontsize=8)
        axis.set_title(setting, fontsize=10)
        axis.set_ylabel("Δm over single-task (%)")
    axes[0][0].legend(fontsize=8)
    figure.tight_layout()
    return figure


INTRO = (
    "Each balancing method on each network, every seed, on the same test rows. Paired tests "
    "(DeLong for AUC, the paired test for MSE) of the seed-mean predictions compare each "
    "method with `equal` on its network and every model with single-task, Holm-corrected "
    "within each setting; Δm is the mean relative change of the tasks' metrics over "
    "single-task, better positive, with a 95 % bootstrap interval over the test rows. "
    "Every paired test is in `verdicts.csv`."
)


def _score_cell(scores: pd.DataFrame, model: str, task: str) -> str:
    row = scores[(scores["model"] == model) & (scores["task"] == task)].iloc[0]
    return f"{row['mean']:.4f} ± {row['std']:.4f}"


def _verdicts(paired: pd.DataFrame, a: str, b: str, tasks: Sequence[str]) -> str:
    """``a`` against ``b`` per task as marks: ▲ better, ▼ worse, = no difference."""
    rows = paired[(paired["a"] == a) & (paired["b"] == b)]
    marks = {"gains": "▲", "loses": "▼", "ties": "="}
    found = {r["task"]: marks[outcome(r)] for _, r in rows.iterrows()}
    return " ".join(found.get(t, "·") for t in tasks) if found else ""


def setting_table(scores: pd.DataFrame, gains: pd.DataFrame, paired: pd.DataFrame) -> list[str]:
    """One setting's Markdown table: scores, Δm, conflict, cost, and the verdicts against the
    network's ``equal`` and against single-task."""
    tasks = list(dict.fromkeys(scores["task"]))
    metric = dict(zip(scores["task"], scores["metric"], strict=False))
    header = ["model", *(f"{t} {metric[t].upper()}" for t in tasks)]
    header += ["Δm % [95 % CI]", "grad cos", "s/training", "vs equal", "vs single-task"]
    rows = [[BASELINE, *(_score_cell(scores, BASELINE, t) for t in tasks), "0", "", "", "", ""]]
    rows += [
        [
            g["model"],
            *(_score_cell(scores, g["model"], t) for t in tasks),
            f"{g['delta_m']:+.2f} [{g['low']:+.2f}, {g['high']:+.2f}]",
            f"{g['grad_cos']:+.3f}",
            f"{g['train_seconds']:.1f}",
            _verdicts(paired, g["model"], f"{g['model'].split('/')[0]}/{REFERENCE}", tasks),
            _verdicts(paired, g["model"], BASELINE, tasks),
        ]
        for _, g in gains.iterrows()
    ]
    return markdown_table(header, rows).splitlines()


def markdown(
    header: Sequence[str],
    findings: Mapping[str, list[str]],
    tables: Mapping[str, list[str]],
) -> str:
    """The report: findings per setting (between snippet markers, for the docs), then tables."""
    parts = [*header, "", INTRO, "", "<!-- --8<-- [start:findings] -->"]
    for setting, lines in findings.items():
        parts += [f"### {setting}", "", *lines, ""]
    parts += ["<!-- --8<-- [end:findings] -->", "", "![Δm per method](delta_m.png)", ""]
    for setting, lines in tables.items():
        parts += [f"## {setting}", "", *lines, ""]
    parts.append(
        "vs equal (the same network's), vs single-task: per task, ▲ better, ▼ worse "
        "(Holm-corrected), = no difference."
    )
    return "\n".join(parts) + "\n"
