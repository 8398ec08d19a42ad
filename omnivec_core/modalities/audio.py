"""audio: one second of sound as a normalised log-mel spectrogram (1, 64 mel bins, 64 frames),
tokenized as 8x8 patches ordered time-major."""
from __future__ import annotations

import numpy as np
import torch

from . import patches
from .base import Modality, View

SAMPLE_RATE = 16000  # of OmniShapes' waveforms and of every sound the readers return


class Audio(Modality):
    audible = True

    def make_stem(self, cfg):
        from ..model.stems import PatchStem

        return PatchStem(cfg, spectrogram=True)

    def input_dims(self, x, text_window: int) -> tuple[int, int, int, int, int]:
        return (x.shape[3], x.shape[2], 1, 1, 1)  # (B, 1, mel bins, frames)

    def target_dim(self, cfg) -> int:
        return cfg.patch**2

    def mae_target(self, cfg, x, extras):
        return patches.patchify_spectrogram(x, cfg.patch)

    def target_to_input(self, cfg, tokens, like):
        p = cfg.patch
        return patches.unpatchify_spectrogram(tokens, (like.shape[-1] // p, like.shape[-2] // p), p)

    def blank(self, target: torch.Tensor) -> torch.Tensor:
        return torch.full_like(target, target.min().item())  # silence, not a loud zero in log-mel

    def show_range(self, x: torch.Tensor) -> torch.Tensor:
        return x  # log-mel has no fixed range

    def from_loaded(self, loaded):
        """A sound file, or a clip's sound track -> the log-mel the model takes."""
        from ..data.readers import MediaError, audio_to_model

        if loaded.waveform is None:
            raise MediaError(f"{loaded.name or 'the file'} has no audio track", code="no_audio", name=loaded.name)
        return audio_to_model(loaded.waveform), list(loaded.notes)

    def view(self, x) -> View:
        return View("heat", x[0].flip(0))  # low pitch at the bottom

    def event_views(self, batch, i: int) -> list[tuple[str, View]]:
        return [(self.label, View("sound", batch.waveform[i], rate=SAMPLE_RATE)),
                ("log-mel spectrogram (low pitch at the bottom)", self.view(batch.audio[i]))]

    def sound_of(self, x) -> torch.Tensor:
        return torch.from_numpy(mel_to_waveform(x))

    def describe_stem(self, cfg) -> str:
        return f"{cfg.patch}x{cfg.patch} log-mel patches"


def mel_to_waveform(log_mel: torch.Tensor, sample_rate: int = SAMPLE_RATE, n_fft: int = 512) -> np.ndarray:
    """Normalised log-mel (1, F, T) -> audio by Griffin-Lim (librosa), to listen to a reconstruction."""
    import librosa

    from ..data.omnishapes import mel_filterbank
    from ..data.omnishapes.sound import MEL_MEAN, MEL_STD

    mel = np.exp(log_mel[0].double().cpu().numpy() * MEL_STD + MEL_MEAN)
    frames = mel.shape[1]
    # least-squares inverse of the filterbank (fast; librosa's NNLS inverse takes seconds), then Griffin-Lim
    inverse = np.linalg.pinv(mel_filterbank(sample_rate, n_fft, mel.shape[0]).double().numpy())
    magnitude = np.sqrt(np.clip(inverse @ mel, 0, None))
    wave = librosa.griffinlim(magnitude, n_iter=24, hop_length=sample_rate // frames, n_fft=n_fft, center=True)
    peak = np.abs(wave).max()
    return (wave / peak * 0.9 if peak > 0 else wave).astype(np.float32)


AUDIO = Audio("audio", "audio", 1, 64, 64, 1, 1, 64, (8, 8), ("shape", "colour", "motion", "size", "speed"),
              anchor_rank=4, value_range=None, mask_ratio=0.8, layout="spectrogram", view_kind="heat",
              reads=("audio", "video"), queries=("audio", "video"), label="audio (1 s, 16 kHz)")
