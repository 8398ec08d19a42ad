"""Compare tab: any two model directories side by side on the same held-out events: their maps (coloured alike,
B turned onto A), their pair matrices, and their metrics with the difference."""
from __future__ import annotations

from collections import OrderedDict
from functools import partial
from pathlib import Path

import gradio as gr

from omnivec_core.analysis.compare import Side, align_onto, comparison_rows, format_rows, side_metrics
from omnivec_core.analysis.gallery import load_or_build_gallery, weights_fingerprint
from omnivec_core.analysis.maps import MapData, compute_map
from omnivec_core.analysis.projections import METHODS
from omnivec_core.data.omnishapes import ATTRIBUTES
from omnivec_core.train.checkpoint import load_model

from .downloads import figure_downloads, table_downloads
from .map_tab import map_figure
from .predictions_view import pair_matrix_figure
from .state import AppState

ROOT = Path(__file__).resolve().parent.parent
COLOURS = ("modality",) + tuple(ATTRIBUTES)
MODEL_PATTERNS = ("checkpoints/*/model.safetensors", "runs/*/model.safetensors", "runs/lab/*/*/model.safetensors")


def model_directories(state: AppState, root: Path = ROOT) -> list[str]:
    """The directories offered: the loaded model, the bundled ones, the Train tab's runs and the lab's rows."""
    found = [p.parent for pattern in MODEL_PATTERNS for p in sorted(root.glob(pattern))]
    loaded = [state.checkpoint] if state.checkpoint is not None else []
    return list(dict.fromkeys(str(d) for d in [*loaded, *found]))


class ModelShelf:
    """The models the tab has loaded, by directory and weights (the app's own model is reused, never loaded
    twice); the least recently used is dropped beyond `capacity`."""

    def __init__(self, state: AppState, capacity: int = 3):
        self.state, self.capacity, self.models = state, capacity, OrderedDict()

    def side(self, directory: str, events: int) -> Side:
        if not str(directory or "").strip():
            raise gr.Error("choose two model directories (each holds config.json and model.safetensors)")
        path = self.state.typed_path(directory)  # on a shared server: only under its allowed folders
        if not (path / "model.safetensors").is_file():
            raise gr.Error(f"{path} is not a model directory: it has no model.safetensors")
        key = (str(path.resolve()), weights_fingerprint(path))
        if self.state.checkpoint is not None and path.resolve() == Path(self.state.checkpoint).resolve():
            model = self.state.require_model()
        elif key in self.models:
            model = self.models[key]
            self.models.move_to_end(key)
        else:
            try:
                model = load_model(path, self.state.device)[0]
            except ValueError as error:
                raise gr.Error(str(error)) from None
            self.models[key] = model
            while len(self.models) > self.capacity:
                self.models.popitem(last=False)
        return Side(path, model, load_or_build_gallery(model, path, events))


def side_map(side: Side, method: str, seed: int = 0) -> MapData:
    space = side.model.embedding.joint_space or "vector"
    return compute_map(side.gallery, space, side.model.cfg.modalities, method, 2, seed, side.directory)


def compare(shelf: ModelShelf, dir_a: str, dir_b: str, events, method: str, colour_by: str, highlight,
            progress=gr.Progress()):
    """(metrics markdown, map A, map B, pair matrix A, pair matrix B) of two models on the same events."""
    if method not in METHODS:
        raise gr.Error(f"unknown method {method!r}; choose one of {METHODS}")
    if colour_by not in COLOURS:
        raise gr.Error(f"unknown colouring {colour_by!r}; choose one of {COLOURS}")
    events = int(events)
    if not 20 <= events <= 1000:
        raise gr.Error("the gallery size must be between 20 and 1000 events")
    try:
        highlight = None if highlight in (None, "") or int(highlight) < 0 else int(highlight)
    except (TypeError, ValueError):
        raise gr.Error(f"the event to ring must be a whole number (-1 for none), got {highlight!r}") from None
    progress(0.05, desc="loading model A and embedding the gallery (cached after the first time)")
    a = shelf.side(dir_a, events)
    progress(0.3, desc="loading model B and embedding the gallery")
    b = shelf.side(dir_b, events)
    progress(0.55, desc=f"{method.upper()} of both shared spaces")
    map_a, map_b = side_map(a, method), side_map(b, method)
    if map_a.modalities == map_b.modalities and (map_a.events == map_b.events).all():
        map_b = MapData(align_onto(map_b.coordinates, map_a.coordinates), map_b.modalities, map_b.events,
                        map_b.mixing)
        turned = "B's map is turned onto A's (orthogonal Procrustes), so a point's place can be compared."
    else:
        turned = "The two models embed different modalities, so B's map is not turned onto A's."
    progress(0.75, desc="pair matrices and metrics")
    try:
        rows = comparison_rows(side_metrics(a), side_metrics(b))
    except ValueError as error:
        raise gr.Error(str(error)) from None
    note = (f"**A** `{a.directory}` and **B** `{b.directory}` on the same {events} held-out events (OmniShapes seed "
            f"{a.gallery.seed}); colours mean the same on both maps. {turned}\n\n" + format_rows(rows, a.name, b.name))
    figures = [map_figure(m, s.gallery, colour_by, f"{label}: {s.name}", 0, highlight)
               for label, m, s in (("A", map_a, a), ("B", map_b, b))]
    return note, *figures, pair_matrix_figure(a.model, a.gallery), pair_matrix_figure(b.model, b.gallery)


def build(state: AppState) -> None:
    shelf = ModelShelf(state)
    choices = model_directories(state)
    gr.Markdown("Load any two models (the bundled one, your Train-tab runs, the Papers lab's rows) and see them "
                "side by side on the same held-out events: the shared space of each, coloured alike, how well "
                "every modality finds every other, and every metric with the difference B − A.")
    with gr.Row():
        dir_a = gr.Dropdown(choices, value=choices[0] if choices else None, allow_custom_value=True, label="model A")
        dir_b = gr.Dropdown(choices, value=choices[1] if len(choices) > 1 else None, allow_custom_value=True,
                            label="model B")
    with gr.Row():
        events = gr.Slider(50, 1000, value=300, step=50, label="held-out events")
        method = gr.Radio(list(METHODS), value="pca", label="map method")
        colour_by = gr.Dropdown(list(COLOURS), value="shape", label="colour by")
        highlight = gr.Number(value=0, precision=0, minimum=-1, label="ring event (-1: none)")
    go = gr.Button("Compare", variant="primary")
    note = gr.Markdown()
    table_downloads(note, name="comparison")
    with gr.Row():
        map_a, map_b = gr.Plot(label="model A"), gr.Plot(label="model B")
    figure_downloads(map_a, map_b, name="maps")
    with gr.Row():
        pairs_a, pairs_b = gr.Plot(label="pair matrix A"), gr.Plot(label="pair matrix B")
    figure_downloads(pairs_a, pairs_b, name="pair matrices")
    go.click(partial(compare, shelf), [dir_a, dir_b, events, method, colour_by, highlight],
             [note, map_a, map_b, pairs_a, pairs_b], api_name="compare_models")

    def refresh(value):
        return gr.Dropdown(choices=list(dict.fromkeys(model_directories(state) + ([value] if value else []))))

    for box in (dir_a, dir_b):
        box.focus(refresh, box, box, api_name=False, show_progress="hidden")
