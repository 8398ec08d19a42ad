"""Registry views -> what a Gradio component shows. A modality's registry entry says what to draw
(a `View`); this module draws it, one component kind per view kind."""
from __future__ import annotations

import base64
import io
from pathlib import Path

import gradio as gr
from PIL import Image

from omnivec_core.modalities import View

from . import media
from .components import StillAudio, StillImage

PICTURES = ("picture", "heat", "animation")  # shown by an image component
FIGURES = ("cloud", "trace")                 # shown by a plot
STILLS = PICTURES + FIGURES                  # the kinds `still` draws small


def component(kind: str, label: str):
    """The component that shows a view of this kind."""
    if kind in PICTURES:
        return StillImage(label=label, type="pil")
    if kind == "sound":
        return StillAudio(label=label)
    if kind in FIGURES:
        return gr.Plot(label=label)
    return gr.Markdown(label=label)


def render(view: View, folder: Path, scale: int = 4, title: str = ""):
    """The value a component of `component(view.kind)` takes."""
    if view.kind == "picture":
        return media.to_pil(view.data, scale)
    if view.kind == "heat":
        return media.heat_map(view.data, scale)
    if view.kind == "animation":
        return media.write_gif(view.data, folder, "clip", scale)
    if view.kind == "sound":
        return media.audio_value(view.data, int(view.rate))
    if view.kind == "cloud":
        return media.point_figure(view.data, view.labels, title)
    if view.kind == "trace":
        return media.trace_figure(view.data, view.rate, view.channels, title)
    return view.data  # a caption


def still(view: View, size: int = 64):
    """A small PIL picture of a view for a hover thumbnail (an animation's middle frame); a view of a kind
    not in STILLS (a sound, a caption) has none."""
    if view.kind == "animation":
        view = View("picture", view.data[len(view.data) // 2])
    drawn = {"picture": lambda: media.to_pil(view.data, 1), "heat": lambda: media.heat_map(view.data, 1),
             "cloud": lambda: media.points_thumbnail(view.data, view.labels, size),
             "trace": lambda: media.trace_thumbnail(view.data, size)}[view.kind]
    return drawn().convert("RGB").resize((size, size), Image.NEAREST)


def data_uri(picture) -> str:
    """A PIL picture as an inline JPEG (what a Plotly figure can carry to the browser)."""
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def render_file(view: View, folder: Path, name: str) -> str:
    """A gallery thumbnail of a view, written once as a file: a WAV for a sound, a GIF for an animation,
    a PNG otherwise (point clouds and traces drawn small)."""
    if view.kind == "sound":
        return media.write_wav(view.data, int(view.rate), Path(folder) / f"{name}.wav")
    if view.kind == "animation":
        return media.write_gif(view.data, folder, name, scale=2)
    picture = {"picture": lambda: media.to_pil(view.data, 2), "heat": lambda: media.heat_map(view.data, 2),
               "cloud": lambda: media.points_thumbnail(view.data, view.labels, 128),
               "trace": lambda: media.trace_thumbnail(view.data, 128)}[view.kind]()
    path = Path(folder) / f"{name}.png"
    picture.save(path)
    return str(path)
