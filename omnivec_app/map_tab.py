"""Embedding map tab: the gallery in the shared space beside the same events right after the stems."""
from __future__ import annotations

from functools import partial
from pathlib import Path

import gradio as gr
import numpy as np

from omnivec_core.analysis.folder_gallery import FolderGallery
from omnivec_core.analysis.maps import compute_map
from omnivec_core.analysis.projections import METHODS
from omnivec_core.analysis.timeline import FILENAME as TIMELINE_FILE, VECTOR, NoTimeline, TimelineCache
from omnivec_core.data.omnishapes import ATTRIBUTES
from omnivec_core.modalities import REGISTRY

from . import map_selection
from .data_tab import EventPanel
from .downloads import figure_downloads
from .explain_view import build_pair_block
from .map_selection import hover_thumbnails
from .state import FOLDER, OMNISHAPES, AppState

COLOUR_BY = ("modality", "class") + tuple(ATTRIBUTES)  # "class": a folder's labels
# Gradio's Plot has no select event, so a small HTML bridge listens to Plotly's own click event
# on both maps and hands the clicked point's event number (its customdata) to Python; on hover it
# shows the event's thumbnail, which the figure carries.
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
    // the figure carries one small picture per event (layout.meta.thumbnails): shown beside the pointer
    const tip = () => {
      let img = element.ownerDocument.getElementById('map-hover-thumbnail');
      if (!img) {
        img = element.ownerDocument.createElement('img');
        img.id = 'map-hover-thumbnail';
        img.style.cssText = 'position:fixed;display:none;width:96px;height:96px;image-rendering:pixelated;' +
          'border:2px solid #444;border-radius:4px;background:#000;pointer-events:none;z-index:1000';
        element.ownerDocument.body.appendChild(img);
      }
      return img;
    };
    plot.on('plotly_hover', data => {
      const point = data && data.points && data.points[0];
      const pictures = plot.layout && plot.layout.meta && plot.layout.meta.thumbnails;
      if (!point || !pictures || point.customdata === undefined || point.customdata === null) return;
      const src = pictures[Array.isArray(point.customdata) ? point.customdata[0] : point.customdata];
      if (!src) return;
      const img = tip(), at = (data && data.event) || {};
      img.src = src;
      img.style.left = ((at.clientX || 0) + 18) + 'px';
      img.style.top = ((at.clientY || 0) + 18) + 'px';
      img.style.display = 'block';
    });
    const hide = () => { tip().style.display = 'none'; };
    plot.on('plotly_unhover', hide);
    plot.addEventListener('mouseleave', hide);  // Plotly sends no unhover when the plot is redrawn under the pointer
  });
};
new MutationObserver(hook).observe(element.ownerDocument.body, {childList: true, subtree: true});
hook();
"""
PALETTE = ("#e6194b", "#f58231", "#ffe119", "#3cb44b", "#42d4f4", "#4363d8", "#911eb4", "#f032e6")
TIMELINE_COLOURS = ("modality",) + tuple(ATTRIBUTES)
TIMELINE_SPACES = ("joint", "vector")  # the space every modality shares (coarse or shared), or the vectorizer output
TIMELINE_MAX_INDEX = 1000  # the snapshot slider's bound until a timeline is loaded (what API callers see)


def map_figure(data, gallery, colour_by: str, title: str, pair_lines: int, highlight: int | None = None,
               thumbnails: list[str] | None = None, selectable: bool = False):
    """The map as a Plotly figure; a group keeps its colour on every map (see group_order), the points of
    event `highlight`, if given, are ringed, `thumbnails` (one inline picture per event) ride along in
    layout.meta for the hover bridge, and a `selectable` 2-D map drags a box (the lasso is in its toolbar)."""
    import plotly.graph_objects as go

    coords, dims = data.coordinates, data.coordinates.shape[1]
    groups = point_groups(data, gallery, colour_by)
    figure = go.Figure()
    hover = [f"{'item' if gallery.seed is None else 'event'} {e} · {m}<br>{gallery.captions[e]}"
             for e, m in zip(data.events, data.modalities)]
    hover = np.array(hover)
    for i, group in enumerate(group_order(gallery, colour_by)):
        sel = groups == group
        if not sel.any():
            continue
        axes = dict(x=coords[sel, 0], y=coords[sel, 1])
        marker = dict(size=4 if dims == 3 else 6, color=PALETTE[i % len(PALETTE)], opacity=0.8)
        trace = go.Scatter3d(**axes, z=coords[sel, 2], mode="markers", marker=marker) if dims == 3 else \
            go.Scattergl(**axes, mode="markers", marker=marker)
        trace.update(name=str(group), text=hover[sel], customdata=data.events[sel],
                     meta={"modalities": np.array(data.modalities)[sel].tolist()},  # what a selection hands back
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
    if highlight is not None and (data.events == highlight).any():
        sel = data.events == highlight
        ring = dict(size=14, color="rgba(0,0,0,0)", line=dict(color="black", width=2))
        axes = dict(x=coords[sel, 0], y=coords[sel, 1], mode="markers+text", text=np.array(data.modalities)[sel],
                    textposition="top center", marker=ring, name=f"event {highlight}", hoverinfo="skip")
        figure.add_trace(go.Scatter3d(**axes, z=coords[sel, 2]) if dims == 3 else go.Scatter(**axes))
    figure.update_layout(title=title, height=480, margin=dict(l=10, r=10, t=40, b=10), legend=dict(itemsizing="constant"))
    if thumbnails is not None:
        figure.update_layout(meta={"thumbnails": thumbnails})
    if selectable and dims == 2:
        figure.update_layout(dragmode="select", modebar_add=["select2d", "lasso2d"])
    return figure


def group_order(gallery, colour_by: str) -> list[str]:
    """Every group the colouring can have, in a fixed order (the registry's, the class list's), so one
    group has one colour on every map drawn: two models compared side by side are coloured alike."""
    if colour_by == "modality":
        return list(REGISTRY)
    names = gallery.dataset.classes if isinstance(gallery, FolderGallery) else ATTRIBUTES.get(colour_by, ())
    return [*names, "no label"]


def point_groups(data, gallery, colour_by: str) -> np.ndarray:
    """The legend group of every point: its modality, or its item's class or attribute."""
    if colour_by == "modality":
        return np.array(data.modalities)
    if colour_by not in gallery.labels:
        raise gr.Error(f"this gallery has no {colour_by!r} to colour by; it has modality"
                       f"{''.join(', ' + k for k in gallery.labels)}")
    names = gallery.dataset.classes if isinstance(gallery, FolderGallery) else ATTRIBUTES[colour_by]
    return np.array([names[i] if i >= 0 else "no label" for i in gallery.labels[colour_by][data.events].tolist()])


def embedding_map(state: AppState, method: str, dims: int, colour_by: str, n_events: int, perplexity: float,
                  neighbours: int, min_dist: float, seed: int, pair_lines: int, source: str = OMNISHAPES,
                  folder: str = "", progress=gr.Progress()):
    model = state.require_model()
    if method not in METHODS:
        raise gr.Error(f"unknown method {method!r}; choose one of {METHODS}")
    n_events = int(n_events)
    if not 20 <= n_events <= 2000:
        raise gr.Error("the gallery size must be between 20 and 2000 events")
    progress(0.05, desc="embedding the gallery (cached after the first time)")
    gallery = state.pick_gallery(source, folder, n_events,
                                 lambda share, text: progress(0.05 + 0.15 * share, desc=text))
    space = model.embedding.joint_space or "vector"
    params = {"pca": {}, "tsne": {"perplexity": float(perplexity)},
              "umap": {"neighbours": int(neighbours), "min_dist": float(min_dist)}}[method]
    progress(0.18, desc="thumbnails for hovering")
    thumbnails = hover_thumbnails(state, gallery)
    figures, notes = [], []
    for step, (which, label) in enumerate(((space, f"shared space ({space})"), ("stem", "right after the stems"))):
        progress(0.2 + 0.4 * step, desc=f"{method.upper()} of the {label} (t-SNE/UMAP take 10-30 s)")
        data = compute_map(gallery, which, model.cfg.modalities, method, int(dims), int(seed), state.checkpoint, **params)
        figures.append(map_figure(data, gallery, colour_by, label, int(pair_lines), thumbnails=thumbnails,
                                  selectable=True))
        notes.append(f"{label}: {data.mixing:.0%} of each point's 10 nearest neighbours come from another modality")
    report = ("**Does the space mix modalities by meaning?** " + "; ".join(notes) +
              ". Hover over a point to see its sample, click it to see and hear it below, drag a box or lasso to list "
              "and export a selection.")
    return figures[0], figures[1], report


# ------------------------------------------------------------------ timeline of the shared space

def timeline_dirs(state: AppState, manager=None) -> list[str]:
    """The directories the timeline offers: the loaded model's, the Train tab's current run, recent runs with one."""
    dirs = [str(state.checkpoint)] if state.checkpoint is not None else []
    if manager is not None:
        if manager.run is not None:
            dirs.append(str(manager.run.out))
        found = sorted(Path(manager.runs_dir).glob(f"*/{TIMELINE_FILE}"), key=lambda p: p.stat().st_mtime, reverse=True)
        dirs += [str(p.parent) for p in found[:8]]
    return list(dict.fromkeys(dirs))


def aligned_timeline(cache: TimelineCache, state: AppState, directory: str, space: str):
    """The aligned projections of a directory's timeline in the chosen space (computed once per file version)."""
    typed = str(directory or "").strip()
    directory = str(state.typed_path(typed)) if typed else str(state.checkpoint or "")  # typed: through the policy
    if not directory:
        raise gr.Error("no directory given and no model loaded: choose a model or run directory with a timeline")
    if space not in TIMELINE_SPACES:
        raise gr.Error(f"unknown space {space!r}; choose one of {TIMELINE_SPACES}")
    try:
        aligned = cache.get(directory)  # the joint space if the model has one, else the vector
        if space == VECTOR and aligned.space != VECTOR:
            aligned = cache.get(directory, VECTOR)
    except (NoTimeline, ValueError) as error:
        raise gr.Error(str(error)) from None
    if space == "joint" and aligned.space == VECTOR:
        raise gr.Error("this model's spaces are disjoint (no space every modality shares): choose the vector")
    return aligned


def timeline_figure(aligned, index: int, colour_by: str, height: int = 480, title: str = "shared space"):
    """One snapshot of an aligned timeline as a 2-D scatter, on axes fixed over the whole run."""
    import plotly.graph_objects as go

    try:
        groups = aligned.groups(colour_by)
    except ValueError as error:
        raise gr.Error(str(error)) from None
    coords, hover = aligned.coordinates[index], aligned.hover()
    figure = go.Figure()
    for i, (name, sel) in enumerate(groups):
        figure.add_trace(go.Scattergl(x=coords[sel, 0], y=coords[sel, 1], mode="markers", name=name, text=hover[sel],
                                      customdata=aligned.events[sel], hovertemplate="%{text}<extra></extra>",
                                      marker=dict(size=6, color=PALETTE[i % len(PALETTE)], opacity=0.8)))
    steps = aligned.timeline.steps
    (x0, x1), (y0, y1) = aligned.bounds
    figure.update_layout(title=f"{title} ({aligned.space}) at step {steps[index]}, snapshot {index + 1} of {len(steps)}",
                         height=height, margin=dict(l=10, r=10, t=40, b=10), legend=dict(itemsizing="constant"),
                         xaxis=dict(range=[x0, x1], title="aligned PC 1"), yaxis=dict(range=[y0, y1], title="aligned PC 2"),
                         uirevision=f"{aligned.timeline.path}:{aligned.space}")  # a scrub keeps the user's zoom
    return figure


def timeline_map(cache: TimelineCache, state: AppState, directory: str, index, colour_by: str = "modality",
                 space: str = "joint"):
    """The 2-D map of one snapshot of a directory's timeline, and what it shows (the slider's handler)."""
    aligned = aligned_timeline(cache, state, directory, space)
    count = len(aligned.timeline)
    try:
        index = int(index)
    except (TypeError, ValueError):
        raise gr.Error(f"the snapshot index must be a whole number, got {index!r}") from None
    if not 0 <= index < count:
        raise gr.Error(f"snapshot {index} is out of range: this timeline has {count} snapshot"
                       f"{'s' if count != 1 else ''}, numbered 0 to {count - 1}")
    timeline = aligned.timeline
    note = (f"**Step {timeline.steps[index]}**, snapshot {index + 1} of {count}: {timeline.n} held-out probe events "
            f"(OmniShapes seed {timeline.seed}) in {len(timeline.modalities)} modalities; "
            f"{aligned.mixing(index):.0%} of each point's 10 nearest neighbours come from another modality. "
            "PCA of each snapshot, turned onto the one before by an orthogonal Procrustes rotation, so a point "
            "moves only where its embedding does.")
    return timeline_figure(aligned, index, colour_by), note


def timeline_load(cache: TimelineCache, state: AppState, directory: str, colour_by: str = "modality",
                  space: str = "joint"):
    """Load a directory's timeline: the slider spans its snapshots and the map shows the last one."""
    aligned = aligned_timeline(cache, state, directory, space)
    count, steps = len(aligned.timeline), aligned.timeline.steps
    figure, note = timeline_map(cache, state, directory, count - 1, colour_by, space)
    slider = gr.Slider(minimum=0, maximum=count - 1, value=count - 1, step=1,
                       label=f"snapshot (0-{count - 1}: steps {steps[0]} to {steps[-1]})")
    return slider, figure, note


def build(state: AppState, manager=None) -> None:
    gr.Markdown("Every point is one held-out event seen through one modality. In a good shared space, the "
                "views of one event land together and events cluster by meaning; right after the stems they "
                "sit in modality islands.")
    with gr.Row():
        method = gr.Radio(list(METHODS), value="pca", label="method")
        dims = gr.Radio([2, 3], value=2, label="dimensions")
        colour_by = gr.Dropdown(list(COLOUR_BY), value="modality", label="colour by")
        n_events = gr.Slider(50, 1000, value=500, step=50, label=f"gallery events (x{len(REGISTRY)} points at most)")
    with gr.Row():
        source = gr.Radio([OMNISHAPES, FOLDER], value=FOLDER if state.folder else OMNISHAPES, label="gallery")
        folder = gr.Textbox(value=str(state.folder or ""), label="your folder (indexed in the Retrieval tab or "
                            "here; colour by class to see its labels)", placeholder="/home/me/clips")
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
    figure_downloads(shared, stems, name="embedding map")
    map_selection.build(state, source, n_events, folder)
    clicked = gr.HTML(value="", html_template="<p>${value ? 'Showing event ' + value + ', clicked on the map.' : "
                      "'Click any point on either map to see and hear its sample here.'}</p>",
                      js_on_load=CLICK_BRIDGE_JS, elem_id="map-click")
    with gr.Row():
        event = gr.Number(value=0, precision=0, label="event number (also in the hover text)", minimum=0,
                          elem_id="map-event")
        show = gr.Button("Show this event")
    panel = EventPanel(state.world, per_row=4)

    def show_event(e, n, source, folder):
        gallery = state.pick_gallery(source, folder, int(n))
        if not 0 <= int(e) < gallery.n:
            raise gr.Error(f"the number must be between 0 and {gallery.n - 1}")
        if isinstance(gallery, FolderGallery):
            return panel.show_item(gallery, int(e))
        return panel.show(gallery.seed, int(e))

    inputs = [method, dims, colour_by, n_events, perplexity, neighbours, min_dist, seed, pair_lines, source, folder]
    draw.click(partial(embedding_map, state), inputs, [shared, stems, report], api_name="embedding_map")
    show.click(show_event, [event, n_events, source, folder], panel.outputs, api_name=False)

    def show_clicked(value, n, source, folder):
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise gr.Error(f"the map sent {value!r}, not an event number") from None
        return (number, *show_event(number, n, source, folder))

    clicked.change(show_clicked, [clicked, n_events, source, folder], [event] + panel.outputs, api_name=False)
    build_pair_block(state, source, folder, n_events)  # why two points lie near: each side's heat
    build_timeline(state, manager)


def build_timeline(state: AppState, manager=None) -> None:
    """The timeline section: a run's snapshots of the shared space, one slider step per snapshot."""
    cache = TimelineCache()
    choices = timeline_dirs(state, manager)
    with gr.Accordion("timeline: the shared space during training", open=False) as box:
        gr.Markdown("A run started with `--timeline-every N` (the Train tab always does) keeps snapshots of 200 "
                    "held-out probe events in every modality as it trains. Move the slider to watch the space form: "
                    "each snapshot is projected by PCA and turned onto the one before, so a point moves only where "
                    "its embedding does, on axes fixed over the whole run.")
        with gr.Row():
            directory = gr.Dropdown(choices, value=choices[0] if choices else None, allow_custom_value=True,
                                    label="model or run directory")
            colour = gr.Dropdown(list(TIMELINE_COLOURS), value="modality", label="colour by")
            space = gr.Radio(list(TIMELINE_SPACES), value="joint", label="space")
            load = gr.Button("Load timeline")
        index = gr.Slider(0, TIMELINE_MAX_INDEX, value=0, step=1, label="snapshot")
        note = gr.Markdown()
        figure = gr.Plot(label="timeline", elem_id="map-timeline")
        figure_downloads(figure, name="timeline")

    def on_open(directory, colour, space):  # opening the section loads the default; no timeline is a note, not an error
        try:
            return timeline_load(cache, state, directory, colour, space)
        except gr.Error as error:
            return gr.skip(), None, f"*{error.message}*"

    def refresh_choices(value):
        return gr.Dropdown(choices=list(dict.fromkeys(timeline_dirs(state, manager) + ([value] if value else []))))

    load.click(partial(timeline_load, cache, state), [directory, colour, space], [index, figure, note],
               api_name="timeline_load")
    index.input(partial(timeline_map, cache, state), [directory, index, colour, space], [figure, note],
                api_name="timeline_map", trigger_mode="always_last", show_progress="hidden")
    for control in (colour, space):
        control.change(partial(timeline_map, cache, state), [directory, index, colour, space], [figure, note],
                       api_name=False, show_progress="hidden")
    box.expand(on_open, [directory, colour, space], [index, figure, note], api_name=False)
    directory.change(on_open, [directory, colour, space], [index, figure, note], api_name=False)
    directory.focus(refresh_choices, directory, directory, api_name=False, show_progress="hidden")
