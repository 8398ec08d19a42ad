"""A student's own inputs beside an uploaded file: a shape drawn on a white canvas, a webcam snapshot and a
microphone recording. Gradio hands each over as a file in its upload cache, which then goes through the same
readers as any upload (omnivec_app/inputs.py); nothing here decodes media itself."""
from __future__ import annotations

from dataclasses import dataclass, field

import gradio as gr

from omnivec_core.data import readers
from omnivec_core.data.omnishapes.world import COLOUR_RGB, COLOURS

from .inputs import read_upload

# the brush offers the world's 8 colours first (what the model knows), and any other through its picker
WORLD_COLOURS = ["#{:02x}{:02x}{:02x}".format(*(round(255 * c) for c in rgb)) for rgb in COLOUR_RGB]
CANVAS = (512, 512)
FLAT = 0.04  # a picture whose pixels all lie within this of each other (in [0, 1]) is one flat colour
SKETCH, WEBCAM, MICROPHONE = "your sketch", "your webcam snapshot", "your recording"
EMPTY_SKETCH = ("your sketch is empty: nothing is drawn on the canvas. Draw a shape with the brush (a red "
                "triangle, say), or give another input")


@dataclass
class OwnInputs:
    """The three components, in the order the tabs' handlers take them."""
    sketch: gr.components.Component
    webcam: gr.components.Component
    microphone: gr.components.Component

    def list(self) -> list:
        return [self.sketch, self.webcam, self.microphone]


def build(prefix: str) -> OwnInputs:
    """The drawing canvas, the webcam and the microphone, side by side (elem_ids `{prefix}-sketch` etc.)."""
    brush = gr.Brush(colors=WORLD_COLOURS, default_color=WORLD_COLOURS[COLOURS.index("red")],
                     color_mode="defaults", default_size=14)
    with gr.Row():
        # image_mode RGB: Gradio flattens the canvas's transparent pixels onto white; PNG keeps strokes crisp
        sketch = gr.Sketchpad(label="or draw a shape", type="filepath",
                              image_mode="RGB", format="png", brush=brush, canvas_size=CANVAS,
                              elem_id=f"{prefix}-sketch")
        webcam = gr.Image(label="or take a webcam snapshot (or upload a picture)", sources=["webcam", "upload"],
                          type="filepath", format="png", elem_id=f"{prefix}-webcam")
        microphone = gr.Audio(label="or record a sound (its first second is used)",
                              sources=["microphone", "upload"], type="filepath", elem_id=f"{prefix}-microphone")
    return OwnInputs(sketch, webcam, microphone)


def sketch_path(value) -> str | None:
    """The file of the drawing: an ImageEditor value's composite (canvas and strokes, flattened), or a path."""
    if isinstance(value, dict):
        value = value.get("composite")
        value = value.get("path") if isinstance(value, dict) else value  # an unprocessed FileData
    return value if isinstance(value, str) and value else None


def is_blank(image) -> bool:
    """One flat colour: nothing drawn (or a blank page)."""
    return float(image.max() - image.min()) < FLAT


@dataclass
class OwnQuery:
    loaded: readers.Loaded | None           # the input read, or None when none was given
    source: str = ""                        # which input it came from
    notes: list[str] = field(default_factory=list)
    empty_sketch: bool = False              # a sketch came with nothing drawn on it (and was set aside)

    def require(self) -> readers.Loaded:
        """The input, or the clear message for an empty sketch or no input at all."""
        if self.loaded is None:
            raise gr.Error(EMPTY_SKETCH if self.empty_sketch else "give an input: upload a file, draw a shape, "
                           "take a webcam snapshot or record a sound")
        return self.loaded


def own_query(upload: str | None, sketch=None, webcam: str | None = None, microphone: str | None = None) -> OwnQuery:
    """The first input given, in the order file, sketch, webcam, microphone, read by the readers; an empty
    sketch counts as none given (a cleared canvas may still send a white page), and the notes say which inputs
    were set aside."""
    given = [(None, upload, None), (SKETCH, sketch_path(sketch), readers.PICTURE), (WEBCAM, webcam, readers.PICTURE),
             (MICROPHONE, microphone, readers.SOUND)]
    given = [(source, path, kind) for source, path, kind in given if path]
    empty = False
    for i, (source, path, kind) in enumerate(given):
        loaded = read_upload(path, source=source)  # by its content: a recording may come as .webm, .ogg, .wav
        if kind is not None and loaded.kind != kind:
            raise gr.Error(f"{source} must be {'a picture' if kind == readers.PICTURE else 'a sound'}; "
                           f"the file holds {loaded.kind}")
        if source == SKETCH and is_blank(loaded.tensor):
            empty = True
            continue
        set_aside = [s or "your file" for s, _, _ in given[i + 1:]]
        notes = [f"the query is {source}"] if source else []
        notes += [f"also given, not used (one input at a time): {', '.join(set_aside)}"] if set_aside else []
        return OwnQuery(loaded, source or "your file", notes, empty)
    return OwnQuery(None, empty_sketch=empty)
