"""Video: PyAV probes the file (streams, codec, size); frames come from decord when it
opens the file, else from PyAV; the audio track always comes from PyAV. Only the first
second is decoded."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ...modalities.audio import DURATION_S
from ...modalities.loaded import Loaded, MediaError
from ...modalities.video import FRAMES
from . import audio as _audio
from .common import LIMITS, ReaderLimits, basename, check_content, check_file, extension, run_with_timeout
from .image import array_to_model_image

CLIP_SECONDS = DURATION_S
VIDEO_EXTS = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ogv", ".wmv")
VIDEO_FAMILIES = {"isobmff", "matroska", "avi", "mpeg", "asf", "ogg"}
_EPS = 1e-4
_MAX_BAD_PACKETS = 50  # corrupt packets skipped before giving up


@dataclass
class _Info:
    width: int
    height: int
    codec: str
    fps: float | None
    duration: float | None
    has_audio: bool


def read_video(path, limits: ReaderLimits = LIMITS, *, allowed_roots=None) -> Loaded:
    """A video file -> Loaded("video", float32 (8, 3, 64, 64) in [0, 1]): 8 frames evenly
    spaced over the first second (frame k at k/8 s); ``waveform`` is the (16000,) waveform of
    the audio track's first second, or None."""
    p = check_file(path, limits, allowed_roots)
    name = basename(p)
    ext = extension(p)
    if ext not in VIDEO_EXTS + _audio.AUDIO_EXTS:  # audio containers are probed: "has no video stream"
        raise MediaError(f"{name}: unsupported video type '{ext or '(none)'}'; supported: {', '.join(VIDEO_EXTS)}",
                         code="unsupported", name=name)
    check_content(p, "video", VIDEO_FAMILIES)
    return load_video(p, limits, [])


def load_video(p, limits: ReaderLimits, notes: list[str]) -> Loaded:
    """Decode an already checked file (``read_video`` without the extension checks)."""
    name = basename(p)

    def decode():
        info = _probe(p, name, limits)
        frames = None
        try:
            frames = _frames_decord(p, info)
            notes.append("decoded with decord")
        except MediaError:
            raise
        except Exception:  # noqa: BLE001 - decord missing or refused the file: PyAV next
            frames = None
        if frames is None:
            frames = _frames_pyav(p, info, name, limits, notes)
            notes.append("decoded with PyAV")
        track, problem = None, None
        if info.has_audio:
            try:
                track = _decode_audio_track(p, limits)
            except Exception as e:  # noqa: BLE001 - a broken audio track does not spoil the frames
                problem = type(e).__name__
        return info, frames, track, problem

    info, frames, track, problem = run_with_timeout(decode, limits.decode_timeout_s, "decode video", name)
    if info.duration is not None and info.duration > CLIP_SECONDS + 0.05:
        notes.append(f"clip is {info.duration:.1f} s long; using its first {CLIP_SECONDS:.1f} s")
    elif info.duration is not None and info.duration < CLIP_SECONDS - 0.05:
        notes.append(f"clip is only {info.duration:.2f} s long; its {FRAMES} frames are spread over it")
    video = torch.stack([array_to_model_image(f) for f in frames])
    waveform = None
    if not info.has_audio:
        notes.append("no audio track")
    elif problem is not None or track is None:
        notes.append(f"the audio track could not be decoded ({problem or 'no samples'}); ignored")
    else:
        sub: list[str] = []
        try:
            waveform = _audio.finish_waveform(*track, name, sub)
            sub = [s for s in sub if not s.startswith("audio is ")]  # the clip note says it already
            notes.append("audio track read with PyAV" + (f" ({'; '.join(sub)})" if sub else ""))
        except MediaError as e:
            notes.append(f"audio track ignored: {str(e).split(': ', 1)[-1]}")
    return Loaded("video", video, waveform, notes, name)


def _decode_audio_track(p, limits):
    return _audio._decode_pyav(p, limits)


def _video_streams(c):
    import av

    pic = av.stream.Disposition.attached_pic
    return [s for s in c.streams.video if not (int(s.disposition) & int(pic))]


def _probe(p, name: str, limits: ReaderLimits) -> _Info:
    import av

    try:
        c = av.open(str(p), metadata_errors="ignore")
    except av.error.FFmpegError as e:
        raise MediaError(f"{name} is not a readable video: the file is corrupt, truncated or not a video "
                         f"({type(e).__name__})", code="corrupt", name=name) from None
    with c:
        vs = _video_streams(c)
        if not vs:
            extra = " (it has only audio)" if c.streams.audio else ""
            raise MediaError(f"{name} has no video stream{extra}", code="no_video_stream", name=name)
        st = vs[0]
        cc = st.codec_context
        codec = getattr(getattr(cc, "codec", None), "name", None) or getattr(cc, "name", None)
        if cc is None or not codec:
            raise MediaError(f"{name}: unsupported video codec ({st.codec_tag or 'unknown'})", code="unsupported_codec",
                             name=name)
        try:
            av.codec.Codec(codec, "r")
        except Exception:  # noqa: BLE001
            raise MediaError(f"{name}: unsupported video codec '{codec}'", code="unsupported_codec",
                             name=name) from None
        w, h = int(cc.width or 0), int(cc.height or 0)
        if w * h > limits.max_pixels:
            raise MediaError(f"{name}: video frames of {w}x{h} are too large (limit {limits.max_pixels:,} pixels)",
                             code="too_many_pixels", name=name)
        rate = st.average_rate or st.guessed_rate or st.base_rate
        fps = float(rate) if rate else None
        duration = None
        if st.duration is not None and st.time_base is not None:
            duration = float(st.duration * st.time_base)
        elif c.duration is not None:
            duration = c.duration / 1e6
        if st.frames == 0 and duration == 0:
            raise MediaError(f"{name} has no video frames", code="no_frames", name=name)
        return _Info(w, h, codec, fps if fps and math.isfinite(fps) and fps > 0 else None, duration,
                     bool(c.streams.audio))


def _targets(info: _Info) -> np.ndarray:
    span = CLIP_SECONDS if info.duration is None or info.duration <= 0 else min(CLIP_SECONDS, info.duration)
    return np.arange(FRAMES) * (span / FRAMES)


def _frames_decord(p, info: _Info) -> list[np.ndarray]:
    import decord

    vr = decord.VideoReader(str(p), ctx=decord.cpu(0), num_threads=1)
    n = len(vr)
    if n == 0:
        raise ValueError("decord found no frames")
    fps = vr.get_avg_fps() or info.fps or 25.0
    cap = min(n, int(math.ceil((CLIP_SECONDS + 0.5) * fps)) + 1)
    starts = np.asarray(vr.get_frame_timestamp(np.arange(cap)))[:, 0]
    starts = starts - starts[0]
    idx = np.clip(np.searchsorted(starts, _targets(info) + _EPS, side="right") - 1, 0, cap - 1)
    batch = vr.get_batch(idx.tolist()).asnumpy()
    if batch.ndim != 4 or batch.shape[0] != FRAMES or batch.shape[-1] != 3:
        raise ValueError(f"decord returned frames of shape {batch.shape}")
    return [batch[i] for i in range(FRAMES)]


def _frames_pyav(p, info: _Info, name: str, limits: ReaderLimits, notes: list[str]) -> list[np.ndarray]:
    """Decode from the start, keeping for each target time the last frame shown at it; stop
    once all 8 are found. Undecodable packets are skipped (up to a point)."""
    import av

    targets = _targets(info)
    picked: list = []
    max_frames = int(math.ceil(limits.max_seconds_decoded * (info.fps or 120.0))) + 1
    prev, t0, count, errors = None, None, 0, 0
    with av.open(str(p), metadata_errors="ignore") as c:
        st = _video_streams(c)[0]
        for packet in c.demux(st):
            try:
                frames = packet.decode()
            except av.error.FFmpegError:
                errors += 1
                if errors > _MAX_BAD_PACKETS:
                    break
                continue
            for frame in frames:
                t = frame.time if frame.time is not None else count / (info.fps or 25.0)
                t0 = t if t0 is None else t0
                while len(picked) < FRAMES and t - t0 > targets[len(picked)] + _EPS:
                    picked.append(prev if prev is not None else frame)
                prev = frame
                count += 1
                if len(picked) == FRAMES or count >= max_frames:
                    break
            if len(picked) == FRAMES or count >= max_frames:
                break
        if prev is None:
            why = f" ({errors} corrupt packets)" if errors else ""
            raise MediaError(f"{name} has no decodable video frames{why}", code="no_frames", name=name)
        if len(picked) < FRAMES and info.duration is not None and (t - t0) < min(info.duration, CLIP_SECONDS) - 0.2:
            notes.append(f"frames end after {t - t0:.2f} s (the file may be truncated); last frame repeated")
        while len(picked) < FRAMES:
            picked.append(prev)
        arrays: dict[int, np.ndarray] = {}
        for f in picked:
            if id(f) not in arrays:
                arrays[id(f)] = f.to_ndarray(format="rgb24")
        return [arrays[id(f)] for f in picked]
