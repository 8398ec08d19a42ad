"""Papers tab: the seed papers' ablations at our scale (`python -m omnivec_core.lab TABLE`), read from the results
under bench/papers/ when asked (so a table run while the app is up shows without a restart): how each was
produced, the paper's own figures beside our rows (mean ± spread over training seeds), every order the paper
shows judged against that spread, and a plot of ours beside the paper's, each relative to the reference row."""
from __future__ import annotations

import os
from pathlib import Path

import gradio as gr

from omnivec_core.lab import RESULTS, TABLES, command_for, format_markdown, read_results

from .downloads import figure_downloads, table_downloads

OURS, PAPER = "#1f77b4", "#7f7f7f"


def results_folder() -> Path:
    """Where the results are read from: $OMNIVEC_PAPERS, else bench/papers."""
    return Path(os.environ.get("OMNIVEC_PAPERS") or RESULTS)


def papers_table(name: str, folder: Path | None = None):
    """(markdown, figure) of one table's results; without results, the command that makes them (and no figure)."""
    if name not in TABLES:
        raise gr.Error(f"unknown table {name!r}; the tables are {', '.join(TABLES)}")
    folder = Path(folder) if folder is not None else results_folder()
    try:
        document = read_results(folder, name)
    except ValueError as error:
        raise gr.Error(str(error)) from None
    if document is None:
        table = TABLES[name]
        return (f"# {table.title}\n\nSeed paper: {table.paper}.\n\nNot yet run: no results in `{folder}`. Make "
                f"them with\n\n```bash\n{command_for(name)}\n```\n\n(add `--device cuda` on a GPU, which runs the "
                f"small scale; `--resume` continues an interrupted run)."), None
    return format_markdown(document), figure(document)


def relative(value: float | None, reference: float | None) -> float | None:
    """`value` as a change in % of `reference`."""
    if value is None or not reference:
        return None
    return 100.0 * (value - reference) / abs(reference)


def bars(part: dict) -> dict[str, tuple[list, list]]:
    """Per side ("ours", "paper"): each row's deciding metric relative to the reference row's, and (ours) the
    row's spread on the same scale."""
    metric, rows = part["metric"], part["rows"]
    reference = next((r for r in rows if r["row"] == part.get("baseline")), rows[0])
    ours_ref = reference.get("stats", {}).get(metric, {}).get("mean")
    ours = [row.get("stats", {}).get(metric) for row in rows]
    spread = [None if s is None or not ours_ref else 100.0 * s["std"] / abs(ours_ref) for s in ours]
    return {"ours": ([relative(s and s["mean"], ours_ref) for s in ours], spread),
            "paper": ([relative(row.get("paper"), reference.get("paper")) for row in rows], [])}


def figure(document: dict):
    """One grouped bar chart per part of the table: our deciding metric and the paper's figure for it, each as a
    change in % of the reference row's, so the two orders compare at a glance; our bars carry the seeds' spread."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    parts = document["parts"]
    titles = [f"{p['title']}: {p['metric']}, % change from {p.get('baseline') or p['rows'][0]['row']}"
              + ("" if any(r.get("paper") is not None for r in p["rows"]) else " (the paper gives no figures)")
              for p in parts]
    chart = make_subplots(rows=len(parts), cols=1, subplot_titles=titles, vertical_spacing=0.25 / max(1, len(parts)))
    for index, part in enumerate(parts, start=1):
        names = [r["row"] for r in part["rows"]]
        sides = bars(part)
        (ours, spread), (paper, _) = sides["ours"], sides["paper"]
        chart.add_trace(go.Bar(x=names, y=ours, name="ours (mean ± spread over seeds)", marker_color=OURS,
                               error_y=dict(type="data", array=[s or 0 for s in spread], visible=True),
                               showlegend=index == 1, hovertemplate="%{x}: %{y:+.1f} %<extra>ours</extra>"),
                        row=index, col=1)
        if any(v is not None for v in paper):
            chart.add_trace(go.Bar(x=names, y=paper, name="the paper", marker_color=PAPER, showlegend=index == 1,
                                   hovertemplate="%{x}: %{y:+.1f} %<extra>paper</extra>"), row=index, col=1)
        chart.update_yaxes(title_text="% change", row=index, col=1)
    chart.update_layout(title=document["title"], barmode="group", height=340 * len(parts),
                        margin=dict(l=50, r=30, t=70, b=40))
    return chart


def build() -> None:
    gr.Markdown("The seed papers' ablations retrained at our scale: each table's variants at an equal step budget, "
                "each with several training seeds, evaluated on held-out OmniShapes events, beside the paper's own "
                "figures. A claim (an order the paper shows) *holds* where our gap exceeds the seeds' spread, is "
                "*within noise* where it does not. Our numbers are not the papers' (OmniShapes is not Kinetics): "
                "the plot shows each side relative to the table's reference row, so the orders compare.")
    with gr.Row():
        name = gr.Dropdown(list(TABLES), value=next(iter(TABLES)), label="table")
        show = gr.Button("Show", variant="primary")
    table = gr.Markdown()
    table_downloads(table, name="papers table")
    plot = gr.Plot(label="ours beside the paper, relative to the reference row")
    figure_downloads(plot, name="papers")
    show.click(papers_table, [name], [table, plot], api_name="papers_table")
    name.change(papers_table, [name], [table, plot], api_name=False)
