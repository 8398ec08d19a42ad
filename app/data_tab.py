"""Data tab: browse OmniShapes events in all six modalities."""
from __future__ import annotations

import gradio as gr

from omnivec_core.data.omnishapes import OmniShapes

from . import media

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
        image = gr.Image(label="image (frame 0)", type="pil")
        video = gr.Image(label="video (8 frames, 1 s)")
        depth = gr.Image(label="depth (nearer = brighter)", type="pil")
    with gr.Row():
        audio = gr.Audio(label="audio (1 s, 16 kHz)")
        spectrogram = gr.Image(label="log-mel spectrogram (low pitch at the bottom)", type="pil")
        points = gr.Plot(label="point cloud (drag to rotate)")
    outputs = [image, video, audio, spectrogram, depth, points, summary]
    show.click(lambda s, i: sample_event(world, s, i), [seed, index], outputs, api_name="sample")
    shuffle.click(lambda: __import__("random").randrange(MAX_INDEX), None, index).then(
        lambda s, i: sample_event(world, s, i), [seed, index], outputs, api_name=False)
    demo.load(lambda s, i: sample_event(world, s, i), [seed, index], outputs, api_name=False)
