"""audio: one second of sound as a normalised log-mel spectrogram (1, 64 mel bins, 64 frames),
tokenized as 8x8 patches ordered time-major. The spectrogram is made here, for OmniShapes' sounds and for
every sound a reader returns alike."""
from __future__ import annotations

import math

import numpy as np
import torch

from ..constants import PATCH
from . import patches
from .base import Modality, View, spread_heat
from .loaded import MediaError

SAMPLE_RATE = 16000  # of OmniShapes' waveforms and of every sound the readers return
DURATION_S = 1.0  # seconds of sound in one input
N_FFT = 512  # STFT size of the log-mel spectrogram
MEL_BINS = 64  # mel bands of the spectrogram
MEL_FRAMES = 64  # time frames of the spectrogram
MEL_MEAN, MEL_STD = -7.6, 3.25  # fixed normalization of log-mel values (measured on OmniShapes, many seeds)


class Audio(Modality):
    audible = True

    def input_dims(self, x, text_window: int) -> tuple[int, int, int, int, int]:
        return (x.shape[3], x.shape[2], 1, 1, 1)  # (B, 1, mel bins, frames)

    def target_dim(self, cfg) -> int:
        return PATCH**2

    def mae_target(self, cfg, x, extras):
        return patches.patchify_spectrogram(x, PATCH)

    def target_to_input(self, cfg, tokens, like):
        p = PATCH
        return patches.unpatchify_spectrogram(tokens, (like.shape[-1] // p, like.shape[-2] // p), p)

    def blank(self, target: torch.Tensor) -> torch.Tensor:
        return torch.full_like(target, target.min().item())  # silence, not a loud zero in log-mel

    def show_range(self, x: torch.Tensor) -> torch.Tensor:
        return x  # log-mel has no fixed range

    def from_loaded(self, loaded):
        """A sound file, or a clip's sound track -> the log-mel the model takes."""
        if loaded.waveform is None:
            raise MediaError(f"{loaded.name or 'the file'} has no audio track", code="no_audio", name=loaded.name)
        return audio_to_model(loaded.waveform), list(loaded.notes)

    def view(self, x) -> View:
        return View("heat", x[0].flip(0))  # low pitch at the bottom

    def event_views(self, batch, i: int) -> list[tuple[str, View]]:
        return [(self.label, View("sound", batch.waveform[i], rate=SAMPLE_RATE)),
                ("log-mel spectrogram (low pitch at the bottom)", self.view(batch[self.name][i]))]

    def sound_of(self, x) -> torch.Tensor:
        return torch.from_numpy(mel_to_waveform(x))

    def describe_stem(self, cfg) -> str:
        return f"{PATCH}x{PATCH} log-mel patches"

    def token_layout(self, scores, grid):
        steps, bands = grid
        return scores.reshape(steps, bands).t()  # (N,) time-major -> (bands, time steps), lowest band first

    def view_heat(self, scores, grid, x, extras):
        return spread_heat(self.token_layout(scores, grid).flip(0), x.shape[-2:])  # (F, T), as `view` flips it

    def token_name(self, index, grid):
        steps, bands = grid
        step, band = divmod(index, bands)
        return f"{step * DURATION_S / steps:.2f}-{(step + 1) * DURATION_S / steps:.2f} s, mel band {band + 1} of " \
               f"{bands} (from the lowest)"


def mel_to_waveform(log_mel: torch.Tensor, sample_rate: int = SAMPLE_RATE, n_fft: int = 512) -> np.ndarray:
    """Normalised log-mel (1, F, T) -> audio by Griffin-Lim (librosa), to listen to a reconstruction."""
    import librosa

    mel = np.exp(log_mel[0].double().cpu().numpy() * MEL_STD + MEL_MEAN)
    frames = mel.shape[1]
    # least-squares inverse of the filterbank (fast; librosa's NNLS inverse takes seconds), then Griffin-Lim
    inverse = np.linalg.pinv(mel_filterbank(sample_rate, n_fft, mel.shape[0]).double().numpy())
    magnitude = np.sqrt(np.clip(inverse @ mel, 0, None))
    wave = librosa.griffinlim(magnitude, n_iter=24, hop_length=sample_rate // frames, n_fft=n_fft, center=True)
    peak = np.abs(wave).max()
    return (wave / peak * 0.9 if peak > 0 else wave).astype(np.float32)


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    """Slaney mel scale (as librosa with htk=False)."""
    f = np.asarray(f, dtype=np.float64)
    mel = f / (200.0 / 3)
    log_region = f >= 1000.0
    return np.where(log_region, 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (math.log(6.4) / 27.0), mel)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    return np.where(m >= 15.0, 1000.0 * np.exp((math.log(6.4) / 27.0) * (m - 15.0)), m * (200.0 / 3))


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, device=None) -> torch.Tensor:
    """(n_mels, n_fft // 2 + 1) triangular mel filters, Slaney scale and Slaney area
    normalization, fmin 0 and fmax sample_rate / 2 (the defaults of librosa.filters.mel)."""
    fft_freqs = np.fft.rfftfreq(n_fft, d=1.0 / sample_rate)
    mel_f = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sample_rate / 2.0), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2:] - mel_f[:-2]))[:, None]
    return torch.from_numpy(weights.astype(np.float32)).to(device)


_fbanks: dict = {}  # (sample rate, n_fft, n_mels, device) -> (filterbank, window), made once


def log_mel(waveform: torch.Tensor, sample_rate: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = MEL_BINS,
            mel_frames: int = MEL_FRAMES) -> torch.Tensor:
    """(B, S) or (B, 1, S) waveform -> (B, 1, n_mels, mel_frames) normalized log-mel.

    Hann-windowed STFT (centred), power spectrum, mel filterbank, natural log, then the
    fixed normalization ``(x - MEL_MEAN) / MEL_STD``.
    """
    if waveform.dim() == 3:
        waveform = waveform[:, 0]
    if waveform.dim() != 2:
        raise ValueError(f"waveform must be (B, S) or (B, 1, S), got {tuple(waveform.shape)}")
    dev = waveform.device
    key = (sample_rate, n_fft, n_mels, str(dev))
    if key not in _fbanks:
        window = torch.hann_window(n_fft, device=dev)
        _fbanks[key] = (mel_filterbank(sample_rate, n_fft, n_mels, dev), window)
    fbank, window = _fbanks[key]
    hop = max(1, waveform.shape[1] // mel_frames)
    spec = torch.stft(waveform.float(), n_fft, hop_length=hop, window=window, center=True, pad_mode="constant",
                      return_complex=True)[..., : mel_frames]
    power = spec.real.square() + spec.imag.square()  # (B, F, frames)
    if power.shape[-1] < mel_frames:
        power = torch.nn.functional.pad(power, (0, mel_frames - power.shape[-1]))
    mel = torch.matmul(fbank, power)
    return ((torch.log(mel + 1e-6) - MEL_MEAN) / MEL_STD)[:, None]


def audio_to_model(waveform) -> torch.Tensor:
    """(16000,) waveform (as a reader gives) -> (1, 64, 64) normalized log-mel, the model's audio input."""
    w = torch.as_tensor(waveform, dtype=torch.float32)
    if w.dim() == 2 and w.shape[0] == 1:
        w = w[0]
    n = int(SAMPLE_RATE * DURATION_S)
    if w.dim() != 1 or w.shape[0] != n:
        raise MediaError(f"waveform must have shape ({n},), got {tuple(w.shape)}", code="bad_waveform")
    if not torch.isfinite(w).all():
        raise MediaError("waveform contains NaN or infinite samples", code="not_finite")
    return log_mel(w[None])[0]


AUDIO = Audio("audio", "audio", 1, MEL_FRAMES, MEL_BINS, 1, 1, MEL_FRAMES * MEL_BINS // PATCH**2,
              (MEL_FRAMES // PATCH, MEL_BINS // PATCH), ("shape", "colour", "motion", "size", "speed"),
              anchor_rank=4, value_range=None, mask_ratio=0.8, stem_context=0, layout="spectrogram", view_kind="heat",
              reads=("audio", "video"), queries=("audio", "video"), out_of_world=(0.89, 0.98), label="audio (1 s, 16 kHz)")
