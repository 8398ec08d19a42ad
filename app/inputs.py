"""Uploads enter here: only from the folders this app may read, always through the core readers."""
from __future__ import annotations

import tempfile
from pathlib import Path

import gradio as gr

from omnivec_core.data import readers

ASSETS = Path(__file__).resolve().parents[1] / "assets"
READERS = {"image": readers.read_image, "video": readers.read_video, "audio": readers.read_audio,
           "depth": readers.read_image, "points": readers.read_points}


def allowed_roots() -> list[Path]:
    """Gradio's upload folder (under the temp dir) and the bundled examples; nothing else."""
    return [Path(tempfile.gettempdir()).resolve(), ASSETS]


def load_upload(path: str, modality: str) -> readers.Loaded:
    """Read an uploaded file as `modality`; a clip given for audio lends its sound track."""
    try:
        safe = readers.check_path(path, allowed_roots())
        if modality == "audio" and readers.kind_of(safe) == "video":
            loaded = readers.read_video(safe)
            if loaded.waveform is None:
                raise readers.MediaError(f"{safe.name} has no audio track")
            return readers.Loaded("audio", loaded.waveform, loaded.waveform, loaded.notes)
        loaded = READERS[modality](safe)
    except readers.MediaError as error:
        raise gr.Error(str(error)) from None
    if modality == "depth":  # a depth map is single-channel: use the image's luminance
        gray = loaded.tensor.mean(0, keepdim=True)
        return readers.Loaded("depth", gray, None, loaded.notes + ["converted to one channel (mean of RGB)"])
    return loaded
