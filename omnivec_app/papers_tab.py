"""Papers tab: the seed papers' ablations at our scale (`python -m omnivec_core.lab TABLE`), read from the results
under bench/papers/ when asked (so a table run while the app is up shows without a restart): how each was
produced, the paper's trend beside our rows, whether our order agrees, and a bar per row."""
from __future__ import annotations

import os
from pathlib import Path

import gradio as gr

from omnivec_core.lab import RESULTS, TABLES, command_for, format_markdown, read_results

AGREEMENT_COLOURS = {"yes": "#2ca02c", "no": "#d62728"}  # partly, n/a and "—" are grey
OTHER = "#7f7f7f"


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
        return (f"# {table.title}\n\nSeed paper: {table.paper}.\n\nNo results yet in `{folder}`. Make them with\n\n"
                f"```bash\n{command_for(name)}\n```\n\n(add `--device cuda` on a GPU; `--resume` continues an "
                f"interrupted run)."), None
    return format_markdown(document), figure(document)


def figure(document: dict):
    """One bar chart per part of the table: each row's deciding metric, coloured by its agreement with the paper."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    parts = document["parts"]
    titles = [f"{p['title']}: {p['metric']} ({'higher' if p.get('higher_is_better', True) else 'lower'} is better)"
              for p in parts]
    chart = make_subplots(rows=len(parts), cols=1, subplot_titles=titles, vertical_spacing=0.25 / max(1, len(parts)))
    for index, part in enumerate(parts, start=1):
        rows = part["rows"]
        chart.add_trace(go.Bar(
            x=[r["row"] for r in rows], y=[r["metrics"].get(part["metric"]) for r in rows], name=part["metric"],
            marker_color=[AGREEMENT_COLOURS.get(r["agrees"], OTHER) for r in rows],
            text=[f"agrees: {r['agrees']}" for r in rows], textposition="outside", showlegend=False,
            hovertemplate="%{x}: %{y:.4g}<br>%{text}<extra></extra>"), row=index, col=1)
        chart.update_yaxes(title_text=part["metric"], row=index, col=1)
    chart.update_layout(title=document["title"], height=340 * len(parts), margin=dict(l=50, r=30, t=70, b=40))
    return chart


def build() -> None:
    gr.Markdown("The seed papers' ablations retrained at our scale: each table's variants at an equal step budget, "
                "evaluated on held-out OmniShapes events, beside the trend the paper reports. *agrees* says whether "
                "our order of the rows is the paper's. Our numbers are not the papers' (OmniShapes is not Kinetics); "
                "the order is what is compared.")
    with gr.Row():
        name = gr.Dropdown(list(TABLES), value=next(iter(TABLES)), label="table")
        show = gr.Button("Show", variant="primary")
    table = gr.Markdown()
    plot = gr.Plot(label="our rows")
    show.click(papers_table, [name], [table, plot], api_name="papers_table")
    name.change(papers_table, [name], [table, plot], api_name=False)
