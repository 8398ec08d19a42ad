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
points (1024, 3) centred, farthest point at 1; imu (100, 6) = 1 s at 100 Hz, ax, ay, az in g
and gx, gy, gz in rad/s; text a cleaned str of 1..200 characters.

.csv and .npy files hold points or an IMU trace: ``read_any`` reads them as points unless
``kind="imu"`` is given or the content clearly is a trace (``looks_like_imu``: a name ending
in "imu", an IMU header, or a leading increasing time column); ``guess_kind`` says which.

A decode that times out raises MediaError, but its worker thread cannot be killed and may
keep running in the background until the decoder returns (see ``common.run_with_timeout``).
"""
from __future__ import annotations

from ...modalities.audio import audio_to_model
from ...modalities.loaded import Loaded, MediaError
from .audio import AUDIO_EXTS, load_audio, read_audio
from .common import FAMILIES, LIMITS, ReaderLimits, basename, check_file, check_path, extension, sniff
from .image import IMAGE_EXTS, load_image, read_image
from .imu import IMU_EXTS, looks_like_imu, read_imu
from .points import POINT_EXTS, load_points, read_points
from .text import read_text
from .video import VIDEO_EXTS, load_video, read_video

__all__ = [
    "MediaError", "Loaded", "ReaderLimits", "LIMITS", "read_image", "read_video", "read_audio", "read_points",
    "read_imu", "read_text", "read_any", "audio_to_model", "check_path", "kind_of", "guess_kind", "looks_like_imu",
    "SUPPORTED", "KINDS", "IMU_EXTS", "PICTURE", "CLIP", "SOUND", "CLOUD", "TRACE",
]

# The kinds of file a reader gives (`Loaded.kind`); each is named as the modality that reads it first.
PICTURE, CLIP, SOUND, CLOUD, TRACE = "image", "video", "audio", "points", "imu"

# extension -> kind: the one kind an extension stands for by default (.csv/.npy: points)
SUPPORTED: dict[str, str] = {
    **{e: "image" for e in IMAGE_EXTS}, **{e: "video" for e in VIDEO_EXTS}, **{e: "audio" for e in AUDIO_EXTS},
    **{e: "points" for e in POINT_EXTS},
}
# extension -> every kind a file with it may hold (.csv/.npy: points or imu)
KINDS: dict[str, tuple[str, ...]] = {e: (k,) for e, k in SUPPORTED.items()}
for _e in IMU_EXTS:
    KINDS[_e] = tuple(k for k in KINDS.get(_e, ()) if k != "imu") + ("imu",)
    SUPPORTED.setdefault(_e, "imu")
del _e


def kind_of(path) -> str | None:
    """The kind a file's extension stands for, or None when unsupported (.csv/.npy: "points";
    see ``KINDS`` for every kind an extension may hold and ``guess_kind`` to look inside)."""
    return SUPPORTED.get(extension(path))


def guess_kind(path, limits: ReaderLimits = LIMITS) -> str | None:
    """Like ``kind_of``, but a .csv/.npy file whose content clearly is an IMU trace (see
    ``looks_like_imu``) gives "imu". Reads at most 64 kB; a file that fails the common checks
    gives its extension's kind (its reader then names the problem)."""
    ext = extension(path)
    kind = SUPPORTED.get(ext)
    if kind is not None and "imu" in KINDS.get(ext, ()) and kind != "imu":
        try:
            if looks_like_imu(check_file(path, limits)):
                return "imu"
        except MediaError:
            pass
    return kind


def read_any(path, limits: ReaderLimits = LIMITS, *, allowed_roots=None, kind: str | None = None) -> Loaded:
    """Read any supported file, dispatching on its extension; when the content clearly
    belongs to another kind (a WAV named .mp4, a JPEG named .wav, an MP4 with only audio),
    the content wins and a note says so. Text content behind a media extension is refused.

    ``kind`` picks the reading of an extension that may hold several kinds (``KINDS``):
    ``kind="imu"`` reads a .csv/.npy as an IMU trace. Without it a .csv/.npy is an IMU trace
    when its content clearly is one (``looks_like_imu``), points otherwise."""
    p = check_file(path, limits, allowed_roots)
    name = basename(p)
    ext = extension(p)
    default = SUPPORTED.get(ext)
    if default is None:
        raise MediaError(f"{name}: unsupported file type '{ext or '(none)'}'; supported: "
                         f"{', '.join(sorted(SUPPORTED))}", code="unsupported", name=name)
    if kind is not None and kind not in KINDS[ext]:
        raise MediaError(f"{name}: a {ext} file cannot be read as {kind}; it holds {' or '.join(KINDS[ext])}",
                         code="unsupported", name=name)
    if kind is None:
        kind = "imu" if "imu" in KINDS[ext] and default != "imu" and looks_like_imu(p) else default
    fam = sniff(p)
    content = FAMILIES.get(fam, (None, None))[1] if fam else None
    # the content agrees with the kind, says nothing, or is a format this extension holds (a .npy trace)
    if content in (None, "text", kind) or (content == "av" and kind in ("audio", "video")) \
            or kind in KINDS.get("." + str(fam), ()):
        return READERS[kind](p, limits)
    desc = FAMILIES[fam][0]
    read_as = "video" if content == "av" else content
    if read_as not in LOADERS:
        raise MediaError(f"{name}: cannot read {desc}", code="wrong_content", name=name)  # pragma: no cover
    return LOADERS[read_as](p, fam, limits, [f"{name} is named {ext} but contains {desc}; read as {read_as}"])


def _video_or_audio(p, limits: ReaderLimits, notes=None, checked: bool = False) -> Loaded:
    try:
        return load_video(p, limits, list(notes or [])) if checked else read_video(p, limits)
    except MediaError as e:
        if e.code != "no_video_stream" or "only audio" not in str(e):
            raise
    return load_audio(p, limits, list(notes or []) + ["the file has no video stream; read as audio"],
                      use_soundfile=False)


# kind -> the reader of a file whose extension stands for it
READERS = {"image": read_image, "video": lambda p, limits: _video_or_audio(p, limits), "audio": read_audio,
           "points": read_points, "imu": read_imu}
# kind of the content found behind another kind's extension -> its loader (path, sniffed family, limits, notes)
LOADERS = {
    "image": lambda p, fam, limits, notes: load_image(p, limits, notes),
    "audio": lambda p, fam, limits, notes: load_audio(p, limits, notes, use_soundfile=fam in ("wav", "flac", "aiff")),
    "video": lambda p, fam, limits, notes: _video_or_audio(p, limits, notes, checked=True),
    "points": lambda p, fam, limits, notes: load_points(p, "." + fam, limits, notes),
}
