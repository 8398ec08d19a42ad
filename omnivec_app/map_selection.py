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
# hands the selected points to Python as a JSON list of "event:modality" (customdata: the event; meta: the modality).
SELECT_BRIDGE_JS = """
const hook = () => {
  element.ownerDocument.querySelectorAll('#map-shared .js-plotly-plot, #map-stems .js-plotly-plot').forEach(plot => {
    if (plot.__omnivecSelect || typeof plot.on !== 'function') return;
    plot.__omnivecSelect = true;
    plot.on('plotly_selected', data => {
      if (!data || !data.points) return;  // a double click clears the selection: the list stays until the next one
      const picked = [];  // "event:modality" of each point (each trace's meta names its points' modalities)
      data.points.forEach(point => {
        const e = Array.isArray(point.customdata) ? point.customdata[0] : point.customdata;
        if (e === undefined || e === null) return;
        const names = point.data && point.data.meta && point.data.meta.modalities;
        const token = names ? e + ':' + names[point.pointIndex] : String(e);
        if (!picked.includes(token)) picked.push(token);
      });
      if (!picked.length) return;  // a box over empty space: keep the list
      props.value = JSON.stringify(picked);
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

def parse_selection(value, count: int, modalities) -> dict[int, tuple[str, ...]]:
    """Event -> the modalities selected of it, from "3,17,42" (every modality of each), "3:image, 17:video"
    (one point each), "3 17 42", a JSON list or a list; events in the order first given, each checked against
    a gallery of `count` events and each modality against the model's."""
    tokens = _tokens(value)
    if not tokens:
        raise gr.Error("no events selected: drag a box or lasso over points on the map (2 dimensions), or type "
                       "event numbers such as 3,17,42")
    bad = [t for t in tokens if _point(t) is None]
    if bad:
        raise gr.Error(f"not event numbers: {', '.join(repr(t) for t in bad[:5])}; give whole numbers such as 3,17,42 "
                       "(or event:modality, such as 3:image)")
    points = [_point(t) for t in tokens]
    outside = list(dict.fromkeys(e for e, _ in points if not 0 <= e < count))
    if outside:
        raise gr.Error(f"event{'s' if len(outside) > 1 else ''} {', '.join(map(str, outside[:8]))} out of range: "
                       f"this gallery has {count} events, numbered 0 to {count - 1}")
    unknown = [m for _, m in points if m is not None and m not in modalities]
    if unknown:
        raise gr.Error(f"unknown modality {unknown[0]!r}; this model has {', '.join(modalities)}")
    chosen: dict[int, set] = {}
    for e, m in points:
        chosen.setdefault(e, set()).update(modalities if m is None else (m,))
    return {e: tuple(m for m in modalities if m in names) for e, names in chosen.items()}


def _tokens(value) -> list:
    if isinstance(value, (list, tuple)):
        return list(value)
    text = str(value if value is not None else "").strip()
    if not text.startswith("["):
        return [t for t in re.split(r"[\s,;]+", text) if t]
    try:
        tokens = json.loads(text)
    except json.JSONDecodeError as error:
        raise gr.Error(f"the events look like JSON but are not valid JSON ({error.msg}): {text[:80]!r}") from None
    if not isinstance(tokens, list):
        raise gr.Error(f"the events must be a JSON list of numbers, got {text[:80]!r}")
    return tokens


def _point(token) -> tuple[int, str | None] | None:
    """A token -> (event, modality or None for every one), or None if it is neither."""
    if isinstance(token, bool):
        return None
    if isinstance(token, int):
        return token, None
    if isinstance(token, float):
        return (int(token), None) if token.is_integer() else None
    found = re.fullmatch(r"\s*([+-]?\d+)\s*(?::\s*([A-Za-z_]\w*))?\s*", token) if isinstance(token, str) else None
    return (int(found.group(1)), found.group(2)) if found else None


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


def selection_rows(gallery, chosen: dict[int, tuple[str, ...]], space: str, modalities) -> tuple[list[dict], np.ndarray]:
    """One row per selected event and each of its chosen modalities the gallery holds it in (the events' order,
    then the registry's), and the same rows' vectors in `space`: (rows, dim) float32, exactly the gallery's."""
    labels, key = label_columns(gallery), "event" if gallery.seed is not None else "item"
    by_modality = {}
    for m in modalities:
        if space in gallery.embeddings.get(m, {}):
            value = gallery.embeddings[m][space]
            owner = np.asarray(gallery.item_of(m, list(range(len(value)))))  # (rows,) event of each row
            by_modality[m] = (value, {int(e): r for r, e in enumerate(owner)})
    rows, vectors = [], []
    for e, names in chosen.items():
        for m, (value, row_of) in by_modality.items():
            if m in names and e in row_of:
                rows.append({key: e, "modality": m, **{k: v[e] for k, v in labels.items()},
                             "caption": gallery.captions[e]})
                vectors.append(value[row_of[e]].float().numpy())
    if not rows:
        raise gr.Error(f"the selected events have no vectors in the {space!r} space")
    return rows, np.stack(vectors).astype(np.float32)


def export_selection(state: AppState, source: str, n_events, folder: str, space: str, events):
    """The zip of a selection: selection.csv, vectors.npy (row i of one is row i of the other) and about.json."""
    gallery = state.pick_gallery(source, folder, _size(n_events))
    modalities = list(state.require_model().cfg.modalities)
    chosen = parse_selection(events, gallery.n, modalities)
    name = resolve_space(state, gallery, space)
    rows, vectors = selection_rows(gallery, chosen, name, modalities)
    picked = list(chosen)
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
    modalities = list(state.require_model().cfg.modalities)
    chosen = parse_selection(events, gallery.n, modalities)
    picked = list(chosen)
    labels, key = label_columns(gallery), "event" if gallery.seed is not None else "item"
    table = pd.DataFrame([{key: e, "selected in": ", ".join(chosen[e]), **{k: v[e] for k, v in labels.items()},
                           "caption": gallery.captions[e]} for e in picked])
    shown = picked[:SHOWN]
    pictures = [(p, f"{key} {e}: {gallery.captions[e]}") for e, p in zip(shown, stills(state, gallery, shown, 96))
                if p is not None]
    points = sum(len(names) for names in chosen.values())
    note = (f"**{len(picked)} {key}s selected** ({points} points)" +
            (f"; the first {SHOWN} pictured" if len(picked) > SHOWN else "") +
            ". Export writes the vector of each selected point: an event typed alone is every modality of it.")
    return selection_text(chosen, modalities), pictures, table, note


def selection_text(chosen: dict[int, tuple[str, ...]], modalities) -> str:
    """A selection as it is typed: "3" for every modality of event 3, "3:image" for one point."""
    return ", ".join(str(e) if len(names) == len(modalities) else ", ".join(f"{e}:{m}" for m in names)
                     for e, names in chosen.items())


def build(state: AppState, source, n_events, folder) -> None:
    """The selection section under the maps (built inside the map tab's layout)."""
    selected = gr.HTML(value="", html_template="<p>${value ? 'Selected on the map: ' + JSON.parse(value).length + "
                       "' points.' : 'Drag a box or lasso over points on either map (2 dimensions; the toolbar "
                       "over the map switches between box, lasso and zoom) to list and export them.'}</p>",
                       js_on_load=SELECT_BRIDGE_JS, elem_id="map-selected")
    with gr.Row():
        events = gr.Textbox(label="selected events (or type numbers: 3,17,42; one point: 3:image)",
                            elem_id="map-selection-events",
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
