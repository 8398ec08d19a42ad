"""Media readers: every user file enters the app here.

Each reader turns one file into the exact model input of its modality, or raises
``MediaError`` (a ValueError) whose message names the problem and the file (basename
only). Readers check the file before decoding (allowed folder, regular file, size,
extension, content), decode under a timeout, decode only the first second of long media,
never follow side files of meshes, and never load pickles.

    from omnivec_core.data.readers import read_any, audio_to_model
    x = read_any("clip.mp4")      # Loaded(kind="video", tensor=(8,3,64,64), waveform=(16000,)|None, notes=[...])

Model inputs: image float32 (3, 64, 64) in [0, 1]; video (8, 3, 64, 64), frame k at k/8 s;
audio (16000,) 16 kHz mono, peak 0.9 (``audio_to_model`` gives the (1, 64, 64) log-mel);
points (1024, 3) centred, farthest point at 1; text a cleaned str of 1..200 characters.

A decode that times out raises MediaError, but its worker thread cannot be killed and may
keep running in the background until the decoder returns (see ``common.run_with_timeout``).
"""
from __future__ import annotations

from .audio import AUDIO_EXTS, audio_to_model, load_audio, read_audio
from .common import FAMILIES, LIMITS, ReaderLimits, basename, check_file, check_path, extension, sniff
from .errors import Loaded, MediaError
from .image import IMAGE_EXTS, load_image, read_image
from .points import POINT_EXTS, load_points, read_points
from .text import read_text
from .video import VIDEO_EXTS, load_video, read_video

__all__ = [
    "MediaError", "Loaded", "ReaderLimits", "LIMITS", "read_image", "read_video", "read_audio", "read_points",
    "read_text", "read_any", "audio_to_model", "check_path", "kind_of", "SUPPORTED",
]

# extension -> kind
SUPPORTED: dict[str, str] = {
    **{e: "image" for e in IMAGE_EXTS}, **{e: "video" for e in VIDEO_EXTS}, **{e: "audio" for e in AUDIO_EXTS},
    **{e: "points" for e in POINT_EXTS},
}


def kind_of(path) -> str | None:
    """The kind a file's extension stands for, or None when unsupported."""
    return SUPPORTED.get(extension(path))


def read_any(path, limits: ReaderLimits = LIMITS, *, allowed_roots=None) -> Loaded:
    """Read any supported file, dispatching on its extension; when the content clearly
    belongs to another kind (a WAV named .mp4, a JPEG named .wav, an MP4 with only audio),
    the content wins and a note says so. Text content behind a media extension is refused."""
    p = check_file(path, limits, allowed_roots)
    name = basename(p)
    ext = extension(p)
    kind = SUPPORTED.get(ext)
    if kind is None:
        raise MediaError(f"{name}: unsupported file type '{ext or '(none)'}'; supported: "
                         f"{', '.join(sorted(SUPPORTED))}", code="unsupported", name=name)
    fam = sniff(p)
    content = FAMILIES.get(fam, (None, None))[1] if fam else None
    if content in (None, "text") or content == kind or (content == "av" and kind in ("audio", "video")):
        if kind == "video":
            return _video_or_audio(p, limits)
        return {"image": read_image, "audio": read_audio, "points": read_points}[kind](p, limits)
    desc = FAMILIES[fam][0]
    note = f"{name} is named {ext} but contains {desc}; read as {'video' if content == 'av' else content}"
    if content == "image":
        return load_image(p, limits, [note])
    if content == "audio":
        return load_audio(p, limits, [note], use_soundfile=fam in ("wav", "flac", "aiff"))
    if content in ("video", "av"):
        return _video_or_audio(p, limits, [note], checked=True)
    if content == "points":
        return load_points(p, "." + fam, limits, [note])
    raise MediaError(f"{name}: cannot read {desc}", code="wrong_content", name=name)  # pragma: no cover


def _video_or_audio(p, limits: ReaderLimits, notes=None, checked: bool = False) -> Loaded:
    try:
        return load_video(p, limits, list(notes or [])) if checked else read_video(p, limits)
    except MediaError as e:
        if e.code != "no_video_stream" or "only audio" not in str(e):
            raise
    return load_audio(p, limits, list(notes or []) + ["the file has no video stream; read as audio"],
                      use_soundfile=False)
