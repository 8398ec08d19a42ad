"""Explained matches: for a query and one of its hits (Retrieval tab), or any two events of a gallery (the
Embedding map's pair block), the tokens that drove their similarity on both sides (core:
analysis/attribution.py), drawn as heat over each view; words of a sentence as highlighted text. `/explain`
is the endpoint. Also here: what a query and a gallery item are as model inputs, which the Retrieval tab
shares."""
from __future__ import annotations

import math
from functools import partial

import gradio as gr
import numpy as np
import torch
from PIL import Image, ImageDraw

from . import media
from .components import StillImage
from .inputs import query_inputs as inputs_of
from .own_inputs import OwnQuery, own_query
from .state import OMNISHAPES, AppState
from omnivec_core.analysis.attribution import Side, attribute
from omnivec_core.analysis.folder_gallery import FolderGallery
from omnivec_core.data import readers
from omnivec_core.modalities import CAPTIONS, REGISTRY, View, get

HOTTEST = 3  # tokens named per side in the summary
SCALE = 4    # pictures 4x enlarged, as the other tabs show them


# ------------------------------------------------------------------ inputs: a query, a gallery item

def query_inputs(own: OwnQuery, text: str | None) -> tuple[dict[str, object], list[str]]:
    """The model inputs a query gives: an upload, drawing, snapshot or recording read by its content (a clip
    gives frames and sound), else a caption."""
    if own.loaded is not None:
        inputs, notes = inputs_of(own.loaded)
        return {m: x[None] for m, x in inputs.items()}, own.notes + notes
    if own.empty_sketch and not (text or "").strip():
        own.require()  # says the sketch is empty, rather than that the sentence is
    try:
        loaded = readers.read_text(text)
    except readers.MediaError as error:
        raise gr.Error(f"{error} (or upload a file, draw a shape, take a webcam snapshot or record a sound)") from None
    return {CAPTIONS: [loaded.tensor]}, []


def model_query(state: AppState, own: OwnQuery, text: str | None) -> dict[str, object]:
    """The query's inputs the loaded model has (query_inputs), on its device; a clear error if it has none."""
    model = state.require_model()
    inputs, _ = query_inputs(own, text)
    inputs = {m: x.to(state.device) if torch.is_tensor(x) else x for m, x in inputs.items() if m in model.cfg.modalities}
    if not inputs:
        raise gr.Error(f"the query gives no input this model has; it was built for {list(model.cfg.modalities)}")
    return inputs


def gallery_input(state: AppState, gallery, event: int, modality: str):
    """A gallery item's model input as a batch of one."""
    if isinstance(gallery, FolderGallery):
        x = gallery.item_input(event, modality)
        return x.to(state.device) if torch.is_tensor(x) else x  # captions stay a list of str
    return REGISTRY[modality].batch_input(state.world.render(1, seed=gallery.seed, start=event, modalities=(modality,),
                                                             device=state.device))


def asking(queries, target: str) -> str:
    """Which of a query's modalities searches `target` (as /retrieve asks): another modality where it has one."""
    return next((m for m in queries if m != target), next(iter(queries)))


def checked_modality(state: AppState, name, role: str) -> str:
    """A modality the loaded model has, or a gr.Error naming the problem."""
    model = state.require_model()
    try:
        spec = get(name)
    except ValueError as error:
        raise gr.Error(f"{role}: {error}") from None
    if spec.name not in model.cfg.modalities:
        raise gr.Error(f"{role}: this model has no {spec.name} input; it was built for {list(model.cfg.modalities)}")
    return spec.name


def checked_item(state: AppState, gallery, event, modality: str, role: str):
    """A gallery item's input, after checking its number (a whole number in range, not NaN) and that it holds
    the modality."""
    if event is None or isinstance(event, bool) or not isinstance(event, (int, float)) or not math.isfinite(event) \
            or event != int(event):
        raise gr.Error(f"{role}: the event number must be a whole number, got {event!r}")
    event = int(event)
    if not 0 <= event < gallery.n:
        raise gr.Error(f"{role}: event {event} is out of range; the gallery has events 0 to {gallery.n - 1}")
    if isinstance(gallery, FolderGallery) and event not in set(gallery.rows.get(modality, torch.empty(0)).tolist()):
        raise gr.Error(f"{role}: item {event} of your folder has no {modality} ({gallery.captions[event]})")
    return event, gallery_input(state, gallery, event, modality)


def checked_gallery(state: AppState, source: str, folder: str, n_events):
    """The gallery an explanation draws its items from (OmniShapes: 50-2000 events, as /retrieve allows)."""
    if source == OMNISHAPES and (n_events is None or not isinstance(n_events, (int, float))
                                 or not math.isfinite(n_events) or not 50 <= n_events <= 2000):
        raise gr.Error(f"the gallery must hold 50-2000 events, got {n_events!r}")
    return state.pick_gallery(source, folder, int(n_events) if source == OMNISHAPES else 0)


# ------------------------------------------------------------------ heat over each view

def heat_ramp(heat: np.ndarray) -> np.ndarray:
    """(...) values in [0, 1] -> (..., 3) colours from dark red to yellow."""
    return np.stack([0.55 + 0.45 * np.clip(heat * 2, 0, 1), np.clip(heat * 2 - 1, 0, 1), np.zeros_like(heat)], -1)


def overlay(base: Image.Image, heat: torch.Tensor, alpha: float = 0.7) -> Image.Image:
    """Heat (h, w) in [0, 1] blended over a picture: the more heat, the more its colour covers the picture."""
    base = base.convert("RGB")
    h = np.asarray(Image.fromarray((heat.numpy() * 255).astype(np.uint8)).resize(base.size, Image.NEAREST)) / 255.0
    picture = np.asarray(base, dtype=np.float32) / 255.0
    cover = alpha * h[..., None]
    return Image.fromarray(((picture * (1 - cover) + heat_ramp(h) * cover) * 255).astype(np.uint8))


def sheet(tiles: list[Image.Image], columns: int, gap: int = 6) -> Image.Image:
    """Tiles of one size in a grid, column-major (a column per tubelet, its frames stacked)."""
    rows = -(-len(tiles) // columns)
    width, height = tiles[0].size
    out = Image.new("RGB", (columns * (width + gap) - gap, rows * (height + gap) - gap), (255, 255, 255))
    for i, tile in enumerate(tiles):
        out.paste(tile, ((i // rows) * (width + gap), (i % rows) * (height + gap)))
    return out


def cloud_heat(points: torch.Tensor, heat: torch.Tensor, size: int = 256) -> Image.Image:
    """(P, 3) points seen from a fixed oblique angle, each coloured by its heat (grey where none)."""
    angle = np.deg2rad(30)
    rotate = np.array([[1, 0, 0], [0, np.cos(angle), -np.sin(angle)], [0, np.sin(angle), np.cos(angle)]])
    xyz = points.float().cpu().numpy() @ rotate.T
    pixels = ((xyz[:, :2] / (np.abs(xyz[:, :2]).max() or 1.0) * 0.45 + 0.5) * (size - 1)).astype(int)
    h = heat.numpy()
    colours = (0.7 * (1 - h[:, None]) + heat_ramp(h) * h[:, None]) * 255           # (P, 3): grey to hot
    canvas = Image.new("RGB", (size, size), (250, 250, 250))
    draw = ImageDraw.Draw(canvas)
    for i in np.lexsort((h, xyz[:, 2])):  # far points first, hot ones over cold at equal depth
        x, y = pixels[i, 0], size - 1 - pixels[i, 1]
        draw.ellipse([x - 2, y - 2, x + 2, y + 2], fill=tuple(int(c) for c in colours[i]))
    return canvas


def trace_heat(trace: torch.Tensor, heat: torch.Tensor, size: tuple[int, int] = (400, 200)) -> Image.Image:
    """(T, C) channels over time on a background shaded by each sample's heat (T,)."""
    width, height = size
    shade = np.repeat(heat.numpy()[None], height, 0)                               # (height, T)
    canvas = overlay(Image.new("RGB", size, (250, 250, 250)), torch.from_numpy(shade), alpha=0.6)
    draw = ImageDraw.Draw(canvas)
    values = trace.float().cpu().numpy()
    xs = np.linspace(4, width - 5, len(values))
    for c in range(values.shape[1]):
        span = np.abs(values[:, c]).max() or 1.0
        ys = height / 2 - values[:, c] / span * (height / 2 - 6)
        draw.line(list(zip(xs.tolist(), ys.tolist())), fill=media.TRACE_COLOURS[c % len(media.TRACE_COLOURS)], width=2)
    return canvas


def heat_picture(view: View, heat: torch.Tensor) -> Image.Image:
    """A registry view with heat (one value per element it draws, in [0, 1]) over it."""
    if view.kind == "picture":
        return overlay(media.to_pil(view.data, SCALE), heat)
    if view.kind == "heat":  # a depth map or spectrogram, in grey under the heat
        grey = (view.data - view.data.min()) / (view.data.max() - view.data.min()).clamp(min=1e-6)
        return overlay(media.to_pil(grey[None], SCALE), heat)
    if view.kind == "animation":
        return sheet([overlay(media.to_pil(frame, 2), h) for frame, h in zip(view.data, heat)], columns=4)
    if view.kind == "cloud":
        return cloud_heat(view.data, heat)
    if view.kind == "trace":
        return trace_heat(view.data, heat)
    raise ValueError(f"no heat drawing for a {view.kind} view")


def side_views(model, side: Side, x) -> tuple[Image.Image | None, list | None, list[str]]:
    """One side's first sample: its heat picture (or its words as highlighted text) and its hottest tokens."""
    spec, real = REGISTRY[side.modality], side.real[0]
    scores = side.scores[0].cpu()
    peak = float(scores.clamp(min=0).max()) or 1.0
    positive = scores.clamp(min=0) / peak                                            # (N,) in [0, 1]
    order = [int(i) for i in scores.argsort(descending=True) if real[i]][:HOTTEST]
    if spec.language:
        words = model.stems[spec.stem].token_strings(x[0])
        shown = [(w, round(max(-1.0, s / peak), 3)) for w, s in zip(words, scores.tolist())]  # -1 to 1, as shown
        return None, shown, [f"“{words[i]}”" for i in order]
    extras = {key: value[0].cpu() for key, value in side.stem.extras.items()}
    sample = x[0].cpu()
    heat = spec.view_heat(positive, side.stem.grid, sample, extras)
    return heat_picture(spec.view(sample), heat), None, [spec.token_name(i, side.stem.grid) for i in order]


def explain_pair(state: AppState, a: str, xa, b: str, xb, names: tuple[str, str]) -> list:
    """Both sides' heat and words, and the summary: the modalities, the space, the similarity, the hottest parts."""
    model = state.require_model()
    result = attribute(model, a, xa, b, xb)
    similarity = float(result.similarity[0])
    if not math.isfinite(similarity):
        raise gr.Error(f"the similarity of {names[0]} and {names[1]} is not a number: an input holds NaN or "
                       "infinite values")
    shown = [side_views(model, side, x) for side, x in zip(result.sides, (xa, xb))]
    lines = [f"- **{name}**: " + "; ".join(hottest) for name, (_, _, hottest) in zip(names, shown)]
    summary = (f"**{a} ↔ {b}**, compared in the *{result.space}* space: similarity **{similarity:.3f}**. "
               "Heat is each token's gradient × input share of that similarity (dark red to yellow: more; only "
               "what raised it is drawn; words that lowered it are blue); the hottest parts:\n\n" + "\n".join(lines))
    return [shown[0][0], shown[0][1], shown[1][0], shown[1][1], summary]


# ------------------------------------------------------------------ the endpoint

def explain(state: AppState, upload: str | None, text: str, hit_modality: str, hit_event, source: str = OMNISHAPES,
            folder: str = "", n_events=500, query_modality: str | None = None, query_event=None, sketch=None,
            webcam: str | None = None, microphone: str | None = None) -> list:
    """Why a hit (`hit_modality` item `hit_event` of the gallery) is near the query: an upload, drawing,
    snapshot, recording or sentence (as /retrieve reads it), or, with `query_event`, another item of the
    same gallery in `query_modality`. -> query heat, query words, hit heat, hit words, summary."""
    hit_modality = checked_modality(state, hit_modality, "the hit")
    gallery = checked_gallery(state, source, folder, n_events)
    hit_event, hit = checked_item(state, gallery, hit_event, hit_modality, "the hit")
    hit_name = f"{hit_modality} item {hit_event}" if isinstance(gallery, FolderGallery) else \
        f"{hit_modality} of event {hit_event}"
    if query_event is not None:
        if upload or (text or "").strip() or own_query(None, sketch, webcam, microphone).loaded is not None:
            raise gr.Error("give one query: an upload or sentence, or a gallery event (query_event), not both")
        query_modality = checked_modality(state, query_modality, "the query")
        query_event, query = checked_item(state, gallery, query_event, query_modality, "the query")
        return explain_pair(state, query_modality, query, hit_modality, hit,
                            (f"{query_modality} of event {query_event}", hit_name))
    inputs = model_query(state, own_query(upload, sketch, webcam, microphone), text)
    for m, x in inputs.items():
        if torch.is_tensor(x) and not torch.isfinite(x).all():
            raise gr.Error(f"the query's {m} input holds NaN or infinite values")
    chosen = asking(inputs, hit_modality)
    return explain_pair(state, chosen, inputs[chosen], hit_modality, hit, (f"the query's {chosen}", hit_name))


def explain_events(state: AppState, a: str, a_event, b: str, b_event, source: str, folder: str, n_events) -> list:
    """Two items of one gallery (the Embedding map's points) explained against each other."""
    return explain(state, None, "", b, b_event, source, folder, n_events, a, a_event)


# ------------------------------------------------------------------ the Retrieval tab's block, the map's pair block

def hit_choices(table: str):
    """The hits of the search just shown, read from its table ("| target | rank | event | score | caption |"),
    as choices "target #rank: event e (score)" with the value "target:e"."""
    choices = []
    for line in (table or "").splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and cells[0] in REGISTRY and cells[2].isdigit():
            choices.append((f"{cells[0]} #{cells[1]}: event {cells[2]} ({cells[3]})", f"{cells[0]}:{cells[2]}"))
    return gr.Dropdown(choices=choices, value=choices[0][1] if choices else None)


def explain_hit(state: AppState, choice: str | None, upload, text, source, folder, n_events, *own) -> list:
    """The Retrieval tab's Explain button: the hit chosen in the dropdown ("target:event")."""
    if not choice or ":" not in choice:
        raise gr.Error("search first, then choose one of the hits to explain")
    target, event = choice.rsplit(":", 1)
    return explain(state, upload, text, target, int(event), source, folder, n_events, None, None, *own)


def outputs_block() -> list:
    """Both sides' heat pictures and words, and the summary, in the order `explain` returns them."""
    with gr.Row():
        query_heat = StillImage(label="query: heat over what drove the similarity", type="pil")
        hit_heat = StillImage(label="hit: heat over what drove the similarity", type="pil")
    with gr.Row():
        query_words = gr.HighlightedText(label="query words", show_legend=False)
        hit_words = gr.HighlightedText(label="hit words", show_legend=False)
    return [query_heat, query_words, hit_heat, hit_words, gr.Markdown()]


def build_retrieval_block(state: AppState, query: list, gallery: list, table) -> None:
    """Under the Retrieval tab's results: choose one of the hits, see both sides' heat. `query` is [upload, text,
    sketch, webcam, microphone]; `gallery` [source, folder, n_events]; `table` the results table, whose rows
    become the choices after each search. Also registers /explain."""
    upload, text, *own = query
    with gr.Accordion("Why this neighbour: the parts of the query and of a hit that drove their similarity",
                      open=True):
        with gr.Row():
            hit = gr.Dropdown([], label="explain a hit (search first)", interactive=True)
            go = gr.Button("Explain")
        outputs = outputs_block()
    table.change(hit_choices, table, hit, api_name=False, show_progress="hidden")
    go.click(partial(explain_hit, state), [hit, upload, text, *gallery, *own], outputs, api_name=False)
    # the scripting API: a hit by modality and event, against the query or against another gallery event
    hit_modality, query_modality = gr.Textbox(visible=False), gr.Textbox(visible=False)
    hit_event, query_event = gr.Number(visible=False), gr.Number(visible=False)  # checked in `explain`, not rounded
    gr.Button(visible=False).click(partial(explain, state), [upload, text, hit_modality, hit_event, *gallery,
                                                             query_modality, query_event, *own],
                                   outputs, api_name="explain")


def build_pair_block(state: AppState, source, folder, n_events) -> None:
    """Explain any two points of the Embedding map: two items of the gallery it shows (`source`, `folder`,
    `n_events`: the map tab's own components), each by modality and event number."""
    names = list(REGISTRY)
    with gr.Accordion("Why these two are near: explain two points of the map", open=False):
        with gr.Row():
            a = gr.Dropdown(names, value=names[0], label="first point: modality")
            a_event = gr.Number(value=0, precision=0, minimum=0, label="first point: event")
            b = gr.Dropdown(names, value=names[1], label="second point: modality")
            b_event = gr.Number(value=0, precision=0, minimum=0, label="second point: event")
            go = gr.Button("Explain the pair")
        outputs = outputs_block()
    go.click(partial(explain_events, state), [a, a_event, b, b_event, source, folder, n_events], outputs,
             api_name=False)
