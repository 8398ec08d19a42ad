"""Data tab: browse OmniShapes events in every modality of the registry."""
from __future__ import annotations

import random
from functools import partial

import gradio as gr
import torch

from omnivec_core.analysis.predictions import predict
from omnivec_core.data.omnishapes import OmniShapes
from omnivec_core.data.omnishapes.preview import looks_sheet
from omnivec_core.modalities import AUDIO, IMAGE, POINTS, REGISTRY, VIDEO
from omnivec_core.modalities.patches import farthest_point_sample, nearest_centre

from . import media, predictions_view, views
from .components import StillImage
from .downloads import figure_downloads, table_downloads
from .state import AppState

MAX_INDEX = 10**9
DENSE = tuple(m for m, spec in REGISTRY.items() if spec.dense)  # modalities with a segmentation head


class EventPanel:
    """One OmniShapes event shown in every modality of the registry: a component per view, the captions
    beside a one-line summary. Built inside a layout; `show(seed, index)` gives the components' values."""

    def __init__(self, world: OmniShapes, per_row: int = 3):
        self.world = world
        example = world.render(1, seed=0)
        self.views = [(m, label, view.kind) for m in REGISTRY.values() if not m.language
                      for label, view in m.event_views(example, 0)]
        self.components = []
        for start in range(0, len(self.views), per_row):
            with gr.Row():
                self.components += [views.component(kind, label) for _, label, kind in self.views[start:start + per_row]]
        figure_downloads(*[c for c in self.components if isinstance(c, gr.Plot)], name="event")
        self.summary = gr.Markdown()
        self.outputs = self.components + [self.summary]

    def show(self, seed: int, index: int) -> list:
        seed, index = _checked(seed, index), int(index)
        batch = self.world.render(1, seed=seed, start=index)
        folder = media.scratch_folder()
        values = [views.render(dict(m.event_views(batch, 0))[label], folder) for m, label, _ in self.views]
        captions = "\n\n".join(view.data for m in REGISTRY.values() if m.language
                                for _, view in m.event_views(batch, 0))
        return values + [f"**{self.world.describe(batch.labels_row(0))}**\n\n{captions}"]

    def show_item(self, gallery, index: int) -> list:
        """One item of a folder gallery: each modality it holds in the first slot of its view's kind."""
        item, folder = gallery.dataset.items[index], media.scratch_folder()
        values: list = [None] * len(self.views)
        for name, x in item.inputs.items():
            view = REGISTRY[name].view(torch.as_tensor(x))
            slot = next((i for i, (m, _, kind) in enumerate(self.views) if m.name == name and kind == view.kind), None)
            if slot is not None:
                values[slot] = views.render(view, folder)
        captions = "\n\n".join(item.captions)
        return values + [f"**{item.path}** (class: {item.label or 'none'})\n\n{captions}"]


def tokenization(world: OmniShapes, seed: int, index: int, patch: int = 8, tubelet: int = 2, groups: int = 64):
    """How each stem cuts the event into tokens: patch grids, tubelets, spectrogram patches, point groups."""
    batch = world.render(1, seed=int(seed), start=int(index), modalities=(IMAGE, VIDEO, AUDIO, POINTS))
    cells = batch[IMAGE].shape[-1] // patch
    image = media.with_grid(media.to_pil(batch[IMAGE][0]), cells)
    tubelets = media.tubelet_sheet(batch[VIDEO][0], tubelet, cells)
    spectrogram = media.with_grid(media.heat_map(batch[AUDIO][0, 0].flip(0)), batch[AUDIO].shape[-1] // patch)
    points = batch[POINTS]
    centres = points[0, farthest_point_sample(points, groups)[0]]
    owner = nearest_centre(points, centres[None])[0]
    figure = media.point_figure(points[0], owner % 12, f"{groups} point groups (farthest-point centres)")
    return image, tubelets, spectrogram, figure


def event_looks(world: OmniShapes, seed, index, count):
    """The Data tab's looks sheet of one event, with the same range checks as showing it."""
    seed, index, count = _checked(seed, index), int(index), int(count)
    if not 2 <= count <= 10:
        raise gr.Error(f"looks must be between 2 and 10, got {count}")
    return looks_sheet(world, seed, index, count)


def _checked(seed, index) -> int:
    """The seed as an int, once seed and index are known to be in range (else a message saying so)."""
    if seed is None or index is None or not 0 <= int(index) <= MAX_INDEX or not 0 <= int(seed) <= MAX_INDEX:
        raise gr.Error(f"seed and index must be between 0 and {MAX_INDEX}")
    return int(seed)


def predict_event(state: AppState, seed: int, index: int) -> list:
    """What the loaded model's heads and its zero-shot prompts say about every modality of one event, and
    the segmentation of every modality with a dense head."""
    model = state.require_model()
    batch = state.world.render(1, seed=int(seed), start=int(index), device=state.device)
    predictions = [predict(model, m, REGISTRY[m].batch_input(batch)) for m in model.cfg.modalities]
    by_name = {p.modality: p for p in predictions}
    panels = []
    for m in DENSE:
        if m not in by_name:
            panels.append(None)
            continue
        picture, cloud = predictions_view.segmentation_views(by_name[m], REGISTRY[m].event_views(batch, 0)[0][1])
        panels.append(picture if picture is not None else cloud)
    truth = f"**The event:** {state.world.describe(batch.labels_row(0))}\n\n"
    signals = {m: REGISTRY[m].batch_input(batch) for m in model.cfg.modalities if not REGISTRY[m].language}
    said = "" if model.language is None else "\n\n**In words** (the generation decoder, greedy):\n\n" + \
        predictions_view.captions_markdown(model, signals, "greedy")
    return [truth + predictions_view.predictions_markdown(predictions) + said, *panels]


def build(demo: gr.Blocks, state: AppState) -> None:
    world = state.world
    gr.Markdown("Every OmniShapes event is one object with a shape, colour, motion, size and speed, "
                f"rendered in all {len(REGISTRY)} modalities. Pick a seed (a split) and an index (an event).")
    with gr.Row():
        seed = gr.Number(value=0, precision=0, label="seed", minimum=0)
        index = gr.Number(value=0, precision=0, label="index", minimum=0)
        show = gr.Button("Show event", variant="primary")
        shuffle = gr.Button("Random event")
    panel = EventPanel(world)
    with gr.Accordion("How the stems cut this event into tokens", open=False):
        with gr.Row():
            grid = StillImage(label="image: 8x8 patches -> 64 tokens", type="pil")
            tubes = StillImage(label="video: 2x8x8 tubelets (a column per tubelet) -> 256 tokens", type="pil")
        with gr.Row():
            spec_grid = StillImage(label="audio: 8x8 log-mel patches -> 64 tokens", type="pil")
            groups = gr.Plot(label="points: 64 groups -> 64 tokens")
        figure_downloads(groups, name="point groups")
        explain = gr.Button("Show tokenization")
    explain.click(lambda s, i: tokenization(world, s, i), [seed, index], [grid, tubes, spec_grid, groups],
                  api_name=False)
    with gr.Accordion("The same event under varied looks (what training varies so the model reads any picture)",
                      open=False):
        gr.Markdown("A column per look: the plain world's first, then looks drawn at random as training draws them "
                    "(background, fill or stroke, outline, zoom, resolution, blur, compression; a turned cloud "
                    "with or without its ground). The event's shape, colour, motion, size and speed never change.")
        looks_count = gr.Slider(2, 10, value=6, step=1, label="looks")
        looks_button = gr.Button("Show looks")
        looks_picture = StillImage(label="one event, several looks: picture, a late frame, depth, points", type="pil")
    looks_button.click(partial(event_looks, world), [seed, index, looks_count], looks_picture, api_name="looks")
    with gr.Accordion("What the loaded model predicts for this event: task heads, zero-shot labels, segmentation",
                      open=False):
        predict_button = gr.Button("Predict")
        predicted = gr.Markdown()
        table_downloads(predicted, name="predictions")
        with gr.Row():
            segmentations = [views.component(REGISTRY[m].view_kind, f"{m}: predicted segmentation") for m in DENSE]
        figure_downloads(*[c for c in segmentations if isinstance(c, gr.Plot)], name="segmentation")
    predict_button.click(partial(predict_event, state), [seed, index], [predicted, *segmentations],
                         api_name="predict_event")
    show.click(panel.show, [seed, index], panel.outputs, api_name="sample")
    shuffle.click(lambda: random.randrange(MAX_INDEX), None, index, api_name=False).then(
        panel.show, [seed, index], panel.outputs, api_name=False)
    demo.load(panel.show, [seed, index], panel.outputs, api_name=False)
