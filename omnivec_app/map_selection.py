"""Selections on the Embedding map: a box or lasso over points picks events (or folder items); their pictures,
labels and captions are listed, and `/export_selection` writes a zip of a CSV (ids, modality, labels,
captions) and a .npy of the same rows' vectors in the chosen space. Also the small pictures the map carries."""
from __future__ import annotations

import csv
import io
import json
import re
import zipfile

import gradio as gr
import numpy as np
import torch

from omnivec_core.analysis.folder_gallery import FolderGallery
from omnivec_core.data.omnishapes import ATTRIBUTES
from omnivec_core.modalities import REGISTRY

from . import views
from .downloads import download_folder
from .state import AppState

SHARED = "shared"  # the space the first map shows: the model's joint space, or the vector if it has none
SPACES = (SHARED, "stem", "vector")  # the first map's, the second map's, the vectorizer's output
SHOWN = 64  # pictures listed at most (the table and the export hold every selected event)
# Plotly's box and lasso end in its own `plotly_selected` event, which gr.Plot does not forward: this bridge
# hands the selected points' event numbers (their customdata, each event once) to Python as a JSON list.
SELECT_BRIDGE_JS = """
const hook = () => {
  element.ownerDocument.querySelectorAll('#map-shared .js-plotly-plot, #map-stems .js-plotly-plot').forEach(plot => {
    if (plot.__omnivecSelect || typeof plot.on !== 'function') return;
    plot.__omnivecSelect = true;
    plot.on('plotly_selected', data => {
      if (!data || !data.points) return;  // a double click clears the selection: the list stays until the next one
      const events = [];
      data.points.forEach(point => {
        const e = Array.isArray(point.customdata) ? point.customdata[0] : point.customdata;
        if (e !== undefined && e !== null && !events.includes(e)) events.push(e);
      });
      if (!events.length) return;  // a box over empty space: keep the list
      props.value = JSON.stringify(events);
      trigger('change');
    });
  });
};
new MutationObserver(hook).observe(element.ownerDocument.body, {childList: true, subtree: true});
hook();
"""


# ------------------------------------------------------------------ pictures of events

def thumbnail_modality(names) -> str | None:
    """Of `names`, the first in registry order whose inputs can be drawn small (not a caption)."""
    return next((m for m in REGISTRY if m in names and REGISTRY[m].view_kind in views.STILLS), None)


def stills(state: AppState, gallery, events: list[int], size: int = 64) -> list:
    """A small PIL picture of each event or folder item (None where it has none: captions only): an
    OmniShapes event's picture; a folder item's picture, clip frame, spectrogram, depth, points or trace."""
    if isinstance(gallery, FolderGallery):
        pictures = []
        for e in events:
            inputs = gallery.dataset.items[e].inputs
            name = thumbnail_modality(inputs)
            view = None if name is None else REGISTRY[name].view(torch.as_tensor(inputs[name]))
            pictures.append(None if view is None else views.still(view, size))
        return pictures
    spec = REGISTRY[thumbnail_modality(REGISTRY)]
    if list(events) == list(range(gallery.n)):  # the whole gallery: one batch
        inputs = spec.batch_input(state.world.render(gallery.n, seed=gallery.seed, modalities=(spec.name,)))
        return [views.still(spec.view(x), size) for x in inputs]
    return [views.still(spec.view(spec.batch_input(state.world.render(1, seed=gallery.seed, start=e,
                                                                      modalities=(spec.name,)))[0]), size)
            for e in events]


def hover_thumbnails(state: AppState, gallery) -> list[str]:
    """One small inline picture per event or folder item ("" where it has none), for the map's hover."""
    return ["" if p is None else views.data_uri(p) for p in stills(state, gallery, list(range(gallery.n)))]


# ------------------------------------------------------------------ what a selection holds

def parse_events(value, count: int) -> list[int]:
    """Event numbers from "3,17,42", "3 17 42", a JSON list or a list, each once, in order, checked against a
    gallery of `count` events."""
    if isinstance(value, (list, tuple)):
        tokens = list(value)
    else:
        text = str(value if value is not None else "").strip()
        if text.startswith("["):
            try:
                tokens = json.loads(text)
            except json.JSONDecodeError as error:
                raise gr.Error(f"the events look like JSON but are not valid JSON ({error.msg}): {text[:80]!r}") from None
            if not isinstance(tokens, list):
                raise gr.Error(f"the events must be a JSON list of numbers, got {text[:80]!r}")
        else:
            tokens = [t for t in re.split(r"[\s,;]+", text) if t]
    if not tokens:
        raise gr.Error("no events selected: drag a box or lasso over points on the map (2 dimensions), or type "
                       "event numbers such as 3,17,42")
    bad = [t for t in tokens if _whole(t) is None]
    if bad:
        raise gr.Error(f"not event numbers: {', '.join(repr(t) for t in bad[:5])}; give whole numbers such as 3,17,42")
    numbers = [_whole(t) for t in tokens]
    outside = [n for n in numbers if not 0 <= n < count]
    if outside:
        raise gr.Error(f"event{'s' if len(outside) > 1 else ''} {', '.join(map(str, outside[:8]))} out of range: "
                       f"this gallery has {count} events, numbered 0 to {count - 1}")
    return list(dict.fromkeys(numbers))


def _whole(token) -> int | None:
    if isinstance(token, bool):
        return None
    if isinstance(token, int):
        return token
    if isinstance(token, float):
        return int(token) if token.is_integer() else None
    return int(token) if isinstance(token, str) and re.fullmatch(r"[+-]?\d+", token.strip()) else None


def resolve_space(state: AppState, gallery, space: str) -> str:
    """The gallery's name of the chosen space ("shared" is the first map's), checked to exist."""
    model = state.require_model()
    name = (model.embedding.joint_space or "vector") if space == SHARED else str(space)
    known = sorted({s for spaces in gallery.embeddings.values() for s in spaces})
    if name not in known:
        raise gr.Error(f"unknown space {space!r}; choose {SHARED!r} (the first map's) or one the gallery holds: "
                       f"{', '.join(known)}")
    return name


def label_columns(gallery) -> dict[str, list[str]]:
    """Each label the gallery has -> the name of every event's value ("" where an item has none)."""
    columns = {}
    for name, ids in gallery.labels.items():
        names = gallery.dataset.classes if isinstance(gallery, FolderGallery) else ATTRIBUTES[name]
        columns[name] = [names[i] if i >= 0 else "" for i in ids.tolist()]
    return columns


def selection_rows(gallery, events: list[int], space: str, modalities) -> tuple[list[dict], np.ndarray]:
    """One row per selected event and modality the gallery holds it in (the events' order, then the
    registry's), and the same rows' vectors in `space`: (rows, dim) float32, exactly the gallery's."""
    labels, key = label_columns(gallery), "event" if gallery.seed is not None else "item"
    by_modality = {}
    for m in modalities:
        if space in gallery.embeddings.get(m, {}):
            value = gallery.embeddings[m][space]
            owner = np.asarray(gallery.item_of(m, list(range(len(value)))))  # (rows,) event of each row
            by_modality[m] = (value, {int(e): r for r, e in enumerate(owner)})
    rows, vectors = [], []
    for e in events:
        for m, (value, row_of) in by_modality.items():
            if e in row_of:
                rows.append({key: e, "modality": m, **{k: v[e] for k, v in labels.items()},
                             "caption": gallery.captions[e]})
                vectors.append(value[row_of[e]].float().numpy())
    if not rows:
        raise gr.Error(f"the selected events have no vectors in the {space!r} space")
    return rows, np.stack(vectors).astype(np.float32)


def export_selection(state: AppState, source: str, n_events, folder: str, space: str, events):
    """The zip of a selection: selection.csv, vectors.npy (row i of one is row i of the other) and about.json."""
    gallery = state.pick_gallery(source, folder, _size(n_events))
    picked = parse_events(events, gallery.n)
    name = resolve_space(state, gallery, space)
    rows, vectors = selection_rows(gallery, picked, name, state.require_model().cfg.modalities)
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    array = io.BytesIO()
    np.save(array, vectors)
    about = {"model": str(state.checkpoint), "gallery": gallery.key, "space": name, "events": picked,
             "rows": len(rows), "dim": int(vectors.shape[1])}
    path = download_folder() / f"selection-{len(picked)}-{'events' if gallery.seed is not None else 'items'}-{name}.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr("selection.csv", table.getvalue())
        out.writestr("vectors.npy", array.getvalue())
        out.writestr("about.json", json.dumps(about, indent=1))
    return str(path)


def _size(n_events) -> int:
    try:
        n = int(n_events)
    except (TypeError, ValueError):
        raise gr.Error(f"the gallery size must be a whole number, got {n_events!r}") from None
    if not 20 <= n <= 2000:
        raise gr.Error(f"the gallery size must be between 20 and 2000 events, got {n}")
    return n


def show_selection(state: AppState, source: str, n_events, folder: str, events):
    """The selection as the page lists it: its numbers, pictures with captions, a table and a summary."""
    import pandas as pd

    gallery = state.pick_gallery(source, folder, _size(n_events))
    picked = parse_events(events, gallery.n)
    labels, key = label_columns(gallery), "event" if gallery.seed is not None else "item"
    table = pd.DataFrame([{key: e, **{k: v[e] for k, v in labels.items()}, "caption": gallery.captions[e]}
                          for e in picked])
    shown = picked[:SHOWN]
    pictures = [(p, f"{key} {e}: {gallery.captions[e]}") for e, p in zip(shown, stills(state, gallery, shown, 96))
                if p is not None]
    note = (f"**{len(picked)} {key}s selected**" + (f" (the first {SHOWN} pictured)" if len(picked) > SHOWN else "") +
            ". Export writes their vectors in every modality the gallery holds them in.")
    return ", ".join(map(str, picked)), pictures, table, note


def build(state: AppState, source, n_events, folder) -> None:
    """The selection section under the maps (built inside the map tab's layout)."""
    selected = gr.HTML(value="", html_template="<p>${value ? 'Selected on the map: ' + JSON.parse(value).length + "
                       "' events.' : 'Drag a box or lasso over points on either map (2 dimensions; the toolbar "
                       "over the map switches between box, lasso and zoom) to list and export them.'}</p>",
                       js_on_load=SELECT_BRIDGE_JS, elem_id="map-selected")
    with gr.Row():
        events = gr.Textbox(label="selected events (or type numbers: 3,17,42)", elem_id="map-selection-events",
                            scale=3, max_lines=3)
        space = gr.Radio(list(SPACES), value=SHARED, label="vectors from: the shared space (first map), right after "
                         "the stems (second map) or the vectorizer")
        list_button = gr.Button("List these", scale=0)
        export = gr.Button("Export selection (CSV + .npy)", scale=0)
    archive = gr.File(label="selection.zip", interactive=False)
    note = gr.Markdown(elem_id="map-selection-note")
    pictures = gr.Gallery(label="selection", columns=8, height="auto", elem_id="map-selection-gallery")
    table = gr.Dataframe(label="selection: labels and captions", interactive=False, wrap=True,
                         elem_id="map-selection-table")

    def show(value, n, source, folder):
        return show_selection(state, source, n, folder, value)

    outputs = [events, pictures, table, note]
    selected.change(show, [selected, n_events, source, folder], outputs, api_name=False)
    for trigger in (list_button.click, events.submit):
        trigger(show, [events, n_events, source, folder], outputs, api_name=False)
    export.click(lambda *a: export_selection(state, *a), [source, n_events, folder, space, events], archive,
                 api_name="export_selection")
