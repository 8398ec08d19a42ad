"""The one error type every reader and every modality raises for bad input, and the result type a reader returns
(in the registry's layer, below the readers, so that a modality can name both)."""
from __future__ import annotations

from dataclasses import dataclass, field


class MediaError(ValueError):
    """A user file (or text) the app cannot use. The message is meant for the UI: it names
    the problem and the file (basename only), never a server path or a traceback.

    ``code`` is a short stable tag (e.g. ``"no_video_stream"``, ``"silent"``) for callers
    that branch on the kind of problem; ``name`` is the file's basename ("" for text)."""

    def __init__(self, message: str, *, code: str = "invalid", name: str = ""):
        super().__init__(message)
        self.code = code
        self.name = name


@dataclass
class Loaded:
    """One user input turned into the exact model input of its modality.

    ``tensor``: image (3, 64, 64), video (8, 3, 64, 64), audio (16000,) waveform,
    points (1024, 3), all float32; a str for text. ``waveform``: the (16000,) 16 kHz mono
    waveform of an audio file, or of a video's audio track (None if it has none).
    ``notes``: short human notes for the UI about what was done to the input."""

    kind: str
    tensor: object
    waveform: object = None
    notes: list[str] = field(default_factory=list)
    name: str = ""  # basename of the source file ("" for text)
