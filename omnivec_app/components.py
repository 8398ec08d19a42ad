"""gr.Image and gr.Audio that write each picture or sound into Gradio's cache once, atomically.

Gradio names a cached picture by the hash of its bytes and rewrites the file in place whenever the
same picture is shown again (the same sample in two tabs, a repeated click). A browser still reading
the first copy then receives a truncated file (ERR_CONTENT_LENGTH_MISMATCH, a broken picture). Here
a file that exists is reused, and a new one appears only by rename, complete."""
from __future__ import annotations

import hashlib
import io
import os
import tempfile
import wave
from pathlib import Path

import gradio as gr
import numpy as np
from gradio.data_classes import FileData
from PIL import Image

from . import media


def write_once(data: bytes, folder: str | Path, name: str) -> str:
    """Path of `name` in a folder named by the hash of `data` under `folder`, written if missing."""
    target = Path(folder) / hashlib.sha256(data).hexdigest()[:40] / name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, staging = tempfile.mkstemp(dir=target.parent, prefix=f".{name}.")
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(staging, target)
    return str(target)


class StillImage(gr.Image):
    is_template = True  # Gradio's own frontend for gr.Image, not a custom component's

    def postprocess(self, value):
        if isinstance(value, np.ndarray) and value.dtype == np.uint8:
            value = Image.fromarray(value)
        if isinstance(value, Image.Image):
            kind = self.format or "png"
            buffer = io.BytesIO()
            value.save(buffer, format=kind, **({"lossless": True} if kind == "webp" else {}))  # patches stay crisp
            value = write_once(buffer.getvalue(), self.GRADIO_CACHE, f"image.{kind}")
        return super().postprocess(value)


class StillAudio(gr.Audio):
    is_template = True

    def postprocess(self, value):
        if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], np.ndarray) \
                and value[1].dtype == np.int16 and value[1].ndim == 1:
            value = write_once(media.wav_bytes(value[1], value[0]), self.GRADIO_CACHE, "audio.wav")
        if isinstance(value, (str, Path)) and is_pcm16_wav(value):  # plays in every browser as it is
            return FileData(path=str(value), orig_name=Path(value).name)
        return super().postprocess(value)  # probes the file with ffprobe (a process per sound) and converts


def is_pcm16_wav(path: str | Path) -> bool:
    """A local 16-bit PCM WAV file (what media.write_wav writes), told from its header without a subprocess."""
    if Path(path).suffix.lower() != ".wav" or not Path(path).is_file():
        return False
    try:
        with wave.open(str(path), "rb") as sound:
            return sound.getsampwidth() == 2 and sound.getnframes() > 0
    except (wave.Error, EOFError, OSError):
        return False
