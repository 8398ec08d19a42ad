"""Overview tab: what the loaded model is, drawn from its config, and a guided path for a lesson."""
from __future__ import annotations

from functools import partial

import gradio as gr

from .architecture import architecture_figure
from .downloads import figure_downloads
from .report import export_report
from .state import DEFAULT_GALLERY, AppState

LESSON = """
### A 20-minute lesson
1. **Data**: one event, every sense. Show the same red bouncing circle as a picture, a clip, a sound,
   a sentence, a depth map, a point cloud and the trace of a motion sensor.
2. **Reconstruct**: hide 75% of an image and let the model fill it in. Push the slider to 95%.
3. **Embedding map**: every dot is one event in one modality. Colour by *modality*, then by *shape*:
   after training, the clusters are about meaning, not about which sense it came from.
4. **Retrieval**: type "a blue square moving up" and find the matching clip, sound and 3D shape.
5. **Activations**: which layers work hardest for which modality?
6. **Efficiency**: drop half the video tokens: how much faster, and how much worse?
7. **Train**: press Start on the `lesson` preset (two minutes on a laptop) and watch the losses fall; then in
   **Embedding map → timeline**, scrub its 20 snapshots: while it learns shapes from pictures and captions,
   the four senses drift apart into islands; once clips, sounds and sentences are aligned, they merge into
   clusters by meaning (colour by *modality*, then by *colour* or *motion*).
"""


def build(state: AppState):
    """Returns (refresh function, its outputs), run at page load and after a new model loads."""
    summary = gr.Markdown(state.describe())
    diagram = gr.Plot(label="architecture (drawn from the model's config)")
    figure_downloads(diagram, name="architecture")
    with gr.Accordion("Class handout: a one-page report of this model", open=True):
        gr.Markdown("One HTML file that opens offline and prints: the model card, the architecture, how well every "
                    "modality finds every other, reconstructions at the mask ratio below and a map of the shared "
                    "space.")
        with gr.Row():
            ratio = gr.Slider(0.0, 0.95, value=0.75, step=0.05, label="mask ratio of the reconstructions")
            events = gr.Slider(50, 1000, value=DEFAULT_GALLERY, step=50, label="held-out events (pair matrix and map)")
            write = gr.Button("Download the report (HTML)", variant="primary", elem_id="overview-report")
        handout = gr.File(label="report", interactive=False, elem_id="overview-report-file")
    write.click(partial(export_report, state), [ratio, events], handout, api_name="export_report")
    gr.Markdown(LESSON)

    def refresh():
        figure = architecture_figure(state.config.model) if state.config else None
        return state.describe(), figure

    return refresh, [summary, diagram]
