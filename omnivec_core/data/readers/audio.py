"""Audio: soundfile for wav/flac/ogg/aiff, PyAV for the rest (and for audio tracks of
videos); librosa resamples to 16 kHz. Only the first second (plus a small margin for the
resampler) is ever decoded."""
from __future__ import annotations

import math

import numpy as np
import torch

from ...modalities.audio import DURATION_S, SAMPLE_RATE
from ...modalities.loaded import Loaded, MediaError
from .common import LIMITS, ReaderLimits, basename, check_content, check_file, extension, run_with_timeout

CLIP_SECONDS = DURATION_S
MIN_SECONDS = 0.1  # least real audio accepted
PEAK = 0.9  # waveforms are peak-normalised to this
SILENCE = 1e-4  # peak below which audio counts as silent
MARGIN_S = 0.05  # decoded past the clip so the resampler sees its right edge
MAX_BAD_PACKETS = 50  # corrupt packets skipped before giving up

SOUNDFILE_EXTS = (".wav", ".flac", ".ogg", ".oga", ".aiff", ".aif")
PYAV_AUDIO_EXTS = (".mp3", ".m4a", ".aac", ".opus", ".wma")
VIDEO_EXTS_WITH_AUDIO = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ogv", ".wmv")
AUDIO_EXTS = SOUNDFILE_EXTS + PYAV_AUDIO_EXTS
AUDIO_FAMILIES = {"wav", "flac", "aiff", "mp3", "adts", "ogg", "isobmff", "matroska", "avi", "mpeg", "asf"}


def read_audio(path, limits: ReaderLimits = LIMITS, *, allowed_roots=None) -> Loaded:
    """An audio file (or the audio track of a video file) -> Loaded("audio", float32 (16000,)
    16 kHz mono waveform, peak 0.9); ``waveform`` is the same tensor."""
    p = check_file(path, limits, allowed_roots)
    name = basename(p)
    ext = extension(p)
    if ext not in AUDIO_EXTS + VIDEO_EXTS_WITH_AUDIO:
        raise MediaError(f"{name}: unsupported audio type '{ext or '(none)'}'; supported: "
                         f"{', '.join(AUDIO_EXTS + VIDEO_EXTS_WITH_AUDIO)}", code="unsupported", name=name)
    fam = check_content(p, "audio", AUDIO_FAMILIES)
    return load_audio(p, limits, [], use_soundfile=ext in SOUNDFILE_EXTS and fam in ("wav", "flac", "aiff", "ogg",
                                                                                      None))


def load_audio(p, limits: ReaderLimits, notes: list[str], use_soundfile: bool = True) -> Loaded:
    """Decode an already checked file (``read_audio`` without the extension checks)."""
    name = basename(p)
    use_sf = use_soundfile

    def decode():
        if use_sf:
            try:
                return _decode_soundfile(p, limits)
            except MediaError:
                raise
            except Exception:  # noqa: BLE001 - libsndfile refused it; PyAV may still read it
                pass
        got = _decode_pyav(p, limits)
        if got is None:
            raise MediaError(f"{name} has no audio stream", code="no_audio_stream", name=name)
        notes.append("decoded with PyAV")
        return got

    y, sr, total = run_with_timeout(decode, limits.decode_timeout_s, "decode audio", name)
    wave = finish_waveform(y, sr, total, name, notes)
    return Loaded("audio", wave, wave, notes, name)


def _decode_soundfile(p, limits: ReaderLimits):
    import soundfile as sf

    with sf.SoundFile(str(p)) as f:
        sr = int(f.samplerate)
        _check_rate(sr, basename(p))
        total = f.frames / sr if f.frames and f.frames > 0 else None
        want = int(math.ceil(sr * min(CLIP_SECONDS + MARGIN_S, limits.max_seconds_decoded)))
        y = f.read(frames=want, dtype="float32", always_2d=True)
    return y, sr, total


def _decode_pyav(p, limits: ReaderLimits):
    """The first second of the first audio stream as ((n, channels) float32, rate, total
    seconds or None); None when the file has no audio stream."""
    import av

    name = basename(p)
    try:
        c = av.open(str(p), metadata_errors="ignore")
    except av.error.FFmpegError as e:
        raise MediaError(f"{name} is not readable audio: the file is corrupt, truncated or not an audio file "
                         f"({type(e).__name__})", code="corrupt", name=name) from None
    with c:
        if not c.streams.audio:
            return None
        st = c.streams.audio[0]
        total = None
        if st.duration is not None and st.time_base is not None:
            total = float(st.duration * st.time_base)
        elif c.duration is not None:
            total = c.duration / 1e6
        chunks, have, sr, errors = [], 0, None, 0
        resampler = av.AudioResampler(format="fltp")
        for packet in c.demux(st):
            try:
                frames = packet.decode()
            except av.error.FFmpegError:  # skip a few corrupt packets, as players do
                errors += 1
                if errors > MAX_BAD_PACKETS:
                    raise MediaError(f"{name}: the audio stream is corrupt (too many undecodable packets)",
                                     code="corrupt", name=name) from None
                continue
            for frame in frames:
                sr = sr or int(frame.sample_rate)
                _check_rate(sr, name)
                for f in resampler.resample(frame):
                    a = f.to_ndarray().reshape(len(f.layout.channels), -1).T
                    chunks.append(a)
                    have += a.shape[0]
                want = sr * (CLIP_SECONDS + MARGIN_S)
                if have >= want or have >= sr * limits.max_seconds_decoded:
                    break
            else:
                continue
            break
        if sr is None or not chunks:
            return np.zeros((0, 1), np.float32), sr or SAMPLE_RATE, total
        ch = min(a.shape[1] for a in chunks)
        y = np.concatenate([a[:, :ch] for a in chunks]).astype(np.float32, copy=False)
        return y, sr, total


def _check_rate(sr: int, name: str):
    if not 1000 <= sr <= 768_000:
        raise MediaError(f"{name}: implausible sample rate {sr} Hz", code="corrupt", name=name)


def finish_waveform(y: np.ndarray, sr: int, total: float | None, name: str, notes: list[str]) -> torch.Tensor:
    """Decoded (n, channels) samples -> float32 (16000,) at 16 kHz: mono mixdown, checks
    (finite, >= 0.1 s, not silent), resampling, the first second, peak 0.9, zero padding."""
    # soxr's high-quality mode, as librosa.resample's default calls it, without librosa's seconds of lazy
    # imports on an app's first uploaded clip
    import soxr

    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 1:
        y = y[:, None]
    if y.size and not np.isfinite(y).all():
        raise MediaError(f"{name}: the audio contains NaN or infinite samples", code="not_finite", name=name)
    if y.shape[1] > 1:
        notes.append(f"{y.shape[1]} channels mixed down to mono")
    y = y.mean(axis=1)
    real_s = min(y.shape[0] / sr, CLIP_SECONDS)
    if real_s < MIN_SECONDS:
        raise MediaError(f"{name}: the audio is too short ({real_s:.3f} s; at least {MIN_SECONDS} s is needed)",
                         code="too_short", name=name)
    y = y[: int(math.ceil(sr * (CLIP_SECONDS + MARGIN_S)))]
    if np.abs(y[: int(round(sr * CLIP_SECONDS))]).max() < SILENCE:
        raise MediaError(f"{name}: the audio is silent (its first {CLIP_SECONDS:g} s has peak below {SILENCE:g})",
                         code="silent", name=name)
    if sr != SAMPLE_RATE:
        y = soxr.resample(y, sr, SAMPLE_RATE, quality="soxr_hq").astype(np.float32)
        notes.append(f"resampled from {sr} Hz to {SAMPLE_RATE} Hz")
    n = int(SAMPLE_RATE * CLIP_SECONDS)
    y = y[:n]
    peak = float(np.abs(y).max())
    if peak < SILENCE:  # resampling can only lose a tiny click
        raise MediaError(f"{name}: the audio is silent", code="silent", name=name)
    y = (y.astype(np.float64) * (PEAK / peak)).clip(-PEAK, PEAK)
    if total is not None and total > CLIP_SECONDS + 0.05:
        notes.append(f"audio is {total:.1f} s long; using its first {CLIP_SECONDS:.1f} s")
    if y.shape[0] < n:
        notes.append(f"audio is {real_s:.2f} s long; padded with silence to {CLIP_SECONDS:.1f} s")
        y = np.pad(y, (0, n - y.shape[0]))
    return torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))
