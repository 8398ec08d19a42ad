"""Downloads beside any figure or table: a Plotly figure as PNG (drawn by matplotlib, static_figure.py) and as a
self-contained interactive HTML page; a table (a Markdown pipe table or a Dataframe) as CSV. Each is one small
button under the component that writes the files of what the page shows now and offers them as links.

    plot = gr.Plot(label="losses")
    downloads.figure_downloads(plot)                 # "PNG + HTML" of one figure (or of several: pass them all)
    table = gr.Markdown()
    downloads.table_downloads(table, name="scores")  # "CSV" of every table in it
"""
from __future__ import annotations

import csv
import io
import json
import re
import tempfile
from functools import partial
from pathlib import Path

import gradio as gr

from .static_figure import png_bytes

ROW = re.compile(r"^\s*\|(.*)\|\s*$")
RULE = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")


def slug(text: str, default: str = "figure") -> str:
    """A file name's stem from a label: lowercase words joined by hyphens."""
    return "-".join(re.findall(r"[a-z0-9]+", str(text or "").lower()))[:60] or default


def download_folder() -> Path:
    """A fresh folder for one request's files (Gradio serves files under the temp directory)."""
    return Path(tempfile.mkdtemp(prefix="omnivec-download-"))


def plotly_json(value) -> str | None:
    """What a gr.Plot hands a handler (its PlotData, or the dict an API client sends) -> the figure's JSON."""
    if value is None:
        return None
    if hasattr(value, "plot"):
        value = {"type": getattr(value, "type", None), "plot": value.plot}
    if isinstance(value, dict) and "plot" in value:
        if value.get("type") not in (None, "plotly"):
            raise gr.Error(f"only Plotly figures can be downloaded here, this one is {value.get('type')}")
        return value["plot"]
    raise gr.Error(f"not a figure: {type(value).__name__}")


def write_figure(figure, folder: Path, name: str) -> list[str]:
    """A figure (go.Figure, its JSON or its dict) as `name`.png and `name`.html in `folder`."""
    import plotly.io as pio

    try:
        png = png_bytes(figure)
    except ValueError as error:
        raise gr.Error(f"{name}: {error}") from None
    (folder / f"{name}.png").write_bytes(png)
    spec = json.loads(figure if isinstance(figure, str) else figure.to_json()) if not isinstance(figure, dict) \
        else figure  # typed arrays stay base64: plotly.js reads them
    page = pio.to_html(spec, include_plotlyjs=True, full_html=True, validate=False)  # offline, as in a classroom
    (folder / f"{name}.html").write_text(page, encoding="utf-8")
    return [str(folder / f"{name}.png"), str(folder / f"{name}.html")]


def figure_files(names: list[str], *values) -> gr.File:
    """The handler: every figure shown (of `values`, one per name) as PNG and HTML."""
    folder, paths = download_folder(), []
    for name, value in zip(names, values):
        text = plotly_json(value)
        if text is not None:
            paths += write_figure(text, folder, name)
    if not paths:
        raise gr.Error("nothing to download yet: draw the figure first")
    return gr.File(value=paths, visible=True)


def figure_downloads(*plots: gr.Plot, name: str | None = None) -> gr.File:
    """Under the figures: a button writing each one shown as PNG and HTML, and the links to them."""
    names = [slug(f"{name}-{i + 1}" if name and len(plots) > 1 else name or plot.label) for i, plot in enumerate(plots)]
    what = "figure" if len(plots) == 1 else f"{len(plots)} figures"
    return _button(f"⬇ {what}: PNG + HTML", partial(figure_files, names), list(plots))


def markdown_tables(text: str) -> list[list[list[str]]]:
    """Every pipe table in a Markdown text, as rows of cells (header first), its formatting stripped."""
    tables, current = [], []
    for line in str(text or "").splitlines() + [""]:
        row = ROW.match(line)
        if row and not RULE.match(line):
            current.append([_cell(c) for c in row.group(1).split("|")])
        elif not row:
            if len(current) > 1:
                tables.append(current)
            current = []
    return tables


def _cell(text: str) -> str:
    return re.sub(r"(\*\*|__|\*|`)", "", text).strip()


def table_files(name: str, *values) -> gr.File:
    """The handler: every table among `values` (Markdown with pipe tables, or a DataFrame) as CSV."""
    folder, paths = download_folder(), []
    tables = []
    for value in values:
        if hasattr(value, "to_csv"):  # a gr.Dataframe's value
            tables.append([list(map(str, value.columns))] + value.astype(str).values.tolist())
        else:
            tables += markdown_tables(value)
    for i, rows in enumerate(tables):
        buffer = io.StringIO()
        csv.writer(buffer).writerows(rows)
        path = folder / (f"{name}.csv" if len(tables) == 1 else f"{name}-{i + 1}.csv")
        path.write_text(buffer.getvalue(), encoding="utf-8")
        paths.append(str(path))
    if not paths:
        raise gr.Error("nothing to download yet: there is no table on the page")
    return gr.File(value=paths, visible=True)


def table_downloads(*sources, name: str) -> gr.File:
    """Under a Markdown (its pipe tables) or a Dataframe: a button writing each table as CSV, and the links."""
    return _button("⬇ table: CSV", partial(table_files, slug(name, "table")), list(sources))


def _button(text: str, handler, inputs) -> gr.File:
    with gr.Row():
        button = gr.Button(text, size="sm", scale=0, min_width=200)
        files = gr.File(label="downloads", file_count="multiple", interactive=False, visible=False, height=90)
    button.click(handler, inputs, files, api_name=False, show_progress="minimal")
    return files
