"""Embedding map tab: the gallery in the shared space beside the same events right after the stems."""
from __future__ import annotations

from functools import partial

import gradio as gr
import numpy as np

from omnivec_core.analysis.maps import compute_map
from omnivec_core.analysis.projections import METHODS
from omnivec_core.data.omnishapes import ATTRIBUTES
from omnivec_core.modalities import REGISTRY

from .data_tab import EventPanel
from .state import AppState

COLOUR_BY = ("modality",) + tuple(ATTRIBUTES)
# Gradio's Plot has no select event, so a small HTML bridge listens to Plotly's own click event
# on both maps and hands the clicked point's event number (its customdata) to Python.
CLICK_BRIDGE_JS = """
const hook = () => {
  element.ownerDocument.querySelectorAll('#map-shared .js-plotly-plot, #map-stems .js-plotly-plot').forEach(plot => {
    if (plot.__omnivecClick || typeof plot.on !== 'function') return;
    plot.__omnivecClick = true;
    plot.on('plotly_click', data => {
      const point = data && data.points && data.points[0];
      if (!point || point.customdata === undefined || point.customdata === null) return;
      props.value = String(Array.isArray(point.customdata) ? point.customdata[0] : point.customdata);
      trigger('change');
    });
  });
};
new MutationObserver(hook).observe(element.ownerDocument.body, {childList: true, subtree: true});
hook();
"""
PALETTE = ("#e6194b", "#f58231", "#ffe119", "#3cb44b", "#42d4f4", "#4363d8", "#911eb4", "#f032e6")


def map_figure(data, gallery, colour_by: str, title: str, pair_lines: int):
    import plotly.graph_objects as go

    coords, dims = data.coordinates, data.coordinates.shape[1]
    if colour_by == "modality":
        groups = np.array(data.modalities)
    else:
        names = ATTRIBUTES[colour_by]
        groups = np.array([names[int(gallery.labels[colour_by][e])] for e in data.events])
    figure = go.Figure()
    hover = [f"event {e} · {m}<br>{gallery.captions[e]}" for e, m in zip(data.events, data.modalities)]
    hover = np.array(hover)
    for i, group in enumerate(dict.fromkeys(groups)):
        sel = groups == group
        axes = dict(x=coords[sel, 0], y=coords[sel, 1])
        marker = dict(size=4 if dims == 3 else 6, color=PALETTE[i % len(PALETTE)], opacity=0.8)
        trace = go.Scatter3d(**axes, z=coords[sel, 2], mode="markers", marker=marker) if dims == 3 else \
            go.Scattergl(**axes, mode="markers", marker=marker)
        trace.update(name=str(group), text=hover[sel], customdata=data.events[sel],
                     hovertemplate="%{text}<extra></extra>")
        figure.add_trace(trace)
    for e in range(min(pair_lines, gallery.n)):  # join one event's points across modalities
        sel = data.events == e
        line = dict(color="rgba(80,80,80,0.35)", width=1)
        if dims == 3:
            figure.add_trace(go.Scatter3d(x=coords[sel, 0], y=coords[sel, 1], z=coords[sel, 2], mode="lines",
                                          line=line, showlegend=False, hoverinfo="skip"))
        else:
            figure.add_trace(go.Scattergl(x=coords[sel, 0], y=coords[sel, 1], mode="lines", line=line,
                                          showlegend=False, hoverinfo="skip"))
    figure.update_layout(title=title, height=480, margin=dict(l=10, r=10, t=40, b=10), legend=dict(itemsizing="constant"))
    return figure


def embedding_map(state: AppState, method: str, dims: int, colour_by: str, n_events: int, perplexity: float,
                  neighbours: int, min_dist: float, seed: int, pair_lines: int, progress=gr.Progress()):
    model = state.require_model()
    if method not in METHODS:
        raise gr.Error(f"unknown method {method!r}; choose one of {METHODS}")
    n_events = int(n_events)
    if not 20 <= n_events <= 2000:
        raise gr.Error("the gallery size must be between 20 and 2000 events")
    progress(0.05, desc=f"embedding {n_events} held-out events")
    gallery = state.gallery(n_events)
    space = model.embedding.joint_space or "vector"
    params = {"pca": {}, "tsne": {"perplexity": float(perplexity)},
              "umap": {"neighbours": int(neighbours), "min_dist": float(min_dist)}}[method]
    figures, notes = [], []
    for step, (which, label) in enumerate(((space, f"shared space ({space})"), ("stem", "right after the stems"))):
        progress(0.2 + 0.4 * step, desc=f"{method.upper()} of the {label} (t-SNE/UMAP take 10-30 s)")
        data = compute_map(gallery, which, model.cfg.modalities, method, int(dims), int(seed), state.checkpoint, **params)
        figures.append(map_figure(data, gallery, colour_by, label, int(pair_lines)))
        notes.append(f"{label}: {data.mixing:.0%} of each point's 10 nearest neighbours come from another modality")
    report = ("**Does the space mix modalities by meaning?** " + "; ".join(notes) +
              ". Click a point to see and hear its sample below.")
    return figures[0], figures[1], report


def build(state: AppState) -> None:
    gr.Markdown("Every point is one held-out event seen through one modality. In a good shared space, the "
                "views of one event land together and events cluster by meaning; right after the stems they "
                "sit in modality islands.")
    with gr.Row():
        method = gr.Radio(list(METHODS), value="pca", label="method")
        dims = gr.Radio([2, 3], value=2, label="dimensions")
        colour_by = gr.Dropdown(list(COLOUR_BY), value="modality", label="colour by")
        n_events = gr.Slider(50, 1000, value=500, step=50, label=f"gallery events (x{len(REGISTRY)} points at most)")
    with gr.Accordion("method parameters", open=False):
        with gr.Row():
            perplexity = gr.Slider(5, 100, value=30, step=1, label="t-SNE perplexity")
            neighbours = gr.Slider(2, 100, value=15, step=1, label="UMAP neighbours")
            min_dist = gr.Slider(0.0, 0.99, value=0.1, step=0.01, label="UMAP min_dist")
            seed = gr.Number(value=0, precision=0, label="seed")
            pair_lines = gr.Slider(0, 100, value=10, step=1, label="events joined by lines")
    draw = gr.Button("Draw map", variant="primary")
    report = gr.Markdown()
    with gr.Row():
        shared = gr.Plot(label="shared space", elem_id="map-shared")
        stems = gr.Plot(label="after the stems", elem_id="map-stems")
    clicked = gr.HTML(value="", html_template="<p>${value ? 'Showing event ' + value + ', clicked on the map.' : "
                      "'Click any point on either map to see and hear its sample here.'}</p>",
                      js_on_load=CLICK_BRIDGE_JS, elem_id="map-click")
    with gr.Row():
        event = gr.Number(value=0, precision=0, label="event number (also in the hover text)", minimum=0,
                          elem_id="map-event")
        show = gr.Button("Show this event")
    panel = EventPanel(state.world, per_row=4)

    def show_event(e, n):
        gallery = state.gallery(int(n))
        if not 0 <= int(e) < gallery.n:
            raise gr.Error(f"event number must be between 0 and {gallery.n - 1}")
        return panel.show(gallery.seed, int(e))

    inputs = [method, dims, colour_by, n_events, perplexity, neighbours, min_dist, seed, pair_lines]
    draw.click(partial(embedding_map, state), inputs, [shared, stems, report], api_name="embedding_map")
    show.click(show_event, [event, n_events], panel.outputs, api_name=False)

    def show_clicked(value, n):
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise gr.Error(f"the map sent {value!r}, not an event number") from None
        return (number, *show_event(number, n))

    clicked.change(show_clicked, [clicked, n_events], [event] + panel.outputs, api_name=False)
