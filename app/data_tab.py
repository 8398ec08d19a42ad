"""Data tab: browse OmniShapes events in all six modalities."""
from __future__ import annotations

import random

import gradio as gr

from omnivec_core.data.omnishapes import OmniShapes
from omnivec_core.model.patches import farthest_point_sample, nearest_centre

from . import media
from .components import StillAudio, StillImage

MAX_INDEX = 10**9


def sample_event(world: OmniShapes, seed: int, index: int):
    """Render one event (seed, index) -> image, video GIF, audio, spectrogram, depth, points, captions."""
    seed, index = int(seed), int(index)
    if not 0 <= index <= MAX_INDEX or not 0 <= seed <= MAX_INDEX:
        raise gr.Error(f"seed and index must be between 0 and {MAX_INDEX}")
    batch = world.render(1, seed=seed, start=index)
    folder = media.scratch_folder()
    summary = world.describe(batch.labels_row(0))
    captions = "\n".join(f"• {c}" for c in batch.text[0])
    return (media.to_pil(batch.image[0]), media.write_gif(batch.video[0], folder, f"event-{seed}-{index}"),
            media.audio_value(batch.waveform[0], world.config.sample_rate),
            media.heat_map(batch.audio[0, 0].flip(0)), media.heat_map(batch.depth[0, 0]),
            media.point_figure(batch.points[0], batch.point_labels[0]), f"**{summary}**\n\n{captions}")


def tokenization(world: OmniShapes, seed: int, index: int, patch: int = 8, tubelet: int = 2, groups: int = 64):
    """How each stem cuts the event into tokens: patch grids, tubelets, spectrogram patches, point groups."""
    batch = world.render(1, seed=int(seed), start=int(index), modalities=("image", "video", "audio", "points"))
    cells = batch.image.shape[-1] // patch
    image = media.with_grid(media.to_pil(batch.image[0]), cells)
    tubelets = media.tubelet_sheet(batch.video[0], tubelet, cells)
    spectrogram = media.with_grid(media.heat_map(batch.audio[0, 0].flip(0)), batch.audio.shape[-1] // patch)
    points = batch.points
    centres = points[0, farthest_point_sample(points, groups)[0]]
    owner = nearest_centre(points, centres[None])[0]
    figure = media.point_figure(points[0], owner % 12, f"{groups} point groups (farthest-point centres)")
    return image, tubelets, spectrogram, figure


def build(demo: gr.Blocks, world: OmniShapes) -> None:
    gr.Markdown("Every OmniShapes event is one object with a shape, colour, motion, size and speed, "
                "rendered in all six modalities. Pick a seed (a split) and an index (an event).")
    with gr.Row():
        seed = gr.Number(value=0, precision=0, label="seed", minimum=0)
        index = gr.Number(value=0, precision=0, label="index", minimum=0)
        show = gr.Button("Show event", variant="primary")
        shuffle = gr.Button("Random event")
    summary = gr.Markdown()
    with gr.Row():
        image = StillImage(label="image (frame 0)", type="pil")
        video = StillImage(label="video (8 frames, 1 s)")
        depth = StillImage(label="depth (nearer = brighter)", type="pil")
    with gr.Row():
        audio = StillAudio(label="audio (1 s, 16 kHz)")
        spectrogram = StillImage(label="log-mel spectrogram (low pitch at the bottom)", type="pil")
        points = gr.Plot(label="point cloud (drag to rotate)")
    with gr.Accordion("How the stems cut this event into tokens", open=False):
        with gr.Row():
            grid = StillImage(label="image: 8x8 patches -> 64 tokens", type="pil")
            tubes = StillImage(label="video: 2x8x8 tubelets (a column per tubelet) -> 256 tokens", type="pil")
        with gr.Row():
            spec_grid = StillImage(label="audio: 8x8 log-mel patches -> 64 tokens", type="pil")
            groups = gr.Plot(label="points: 64 groups -> 64 tokens")
        explain = gr.Button("Show tokenization")
    explain.click(lambda s, i: tokenization(world, s, i), [seed, index], [grid, tubes, spec_grid, groups],
                  api_name=False)
    outputs = [image, video, audio, spectrogram, depth, points, summary]
    show.click(lambda s, i: sample_event(world, s, i), [seed, index], outputs, api_name="sample")
    shuffle.click(lambda: random.randrange(MAX_INDEX), None, index).then(
        lambda s, i: sample_event(world, s, i), [seed, index], outputs, api_name=False)
    demo.load(lambda s, i: sample_event(world, s, i), [seed, index], outputs, api_name=False)
