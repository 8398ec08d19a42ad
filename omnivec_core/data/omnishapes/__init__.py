"""OmniShapes: a procedural world of paired events, rendered in seven modalities at once.

Each event is an object with a shape, colour, motion, size and speed; image, video,
audio, text, depth, points and imu (a 6-channel inertial trace of the motion) all render
the same event. Batched torch code (only torch, numpy and the standard library),
deterministic per ``(seed, index)`` on any device and in any batch::

    from omnivec_core.data.omnishapes import OmniShapes
    batch = OmniShapes().render(256, seed=0, device="cuda")
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass

import torch

from ...modalities import MODALITIES, POINTS  # the renderer draws every registered modality
from ...modalities.audio import DURATION_S, MEL_BINS, MEL_FRAMES, N_FFT, SAMPLE_RATE
from ...modalities.image import SIZE as IMAGE_SIZE
from ...modalities.imu import RATE as IMU_RATE
from ...modalities.points import N_POINTS
from ...modalities.video import FRAMES
from .batch import EventBatch
from .captions import describe as _describe
from .captions import caption_words, class_prompts, counterfactual_captions, parse_caption
from .looks import BACKGROUNDS, STYLES
from .renderers import INPUT, RENDERERS, SEGMENTS, WAVEFORM
from .world import (ATTRIBUTES, COLOURS, MOTIONS, SHAPES, SIZES, SOLIDS, SPEEDS, Events,
                    sample_events)

__all__ = [
    "SHAPES", "SOLIDS", "COLOURS", "MOTIONS", "SIZES", "SPEEDS", "ATTRIBUTES", "MODALITIES",
    "OmniShapesConfig", "EventBatch", "OmniShapes", "parse_caption", "counterfactual_captions", "class_prompts",
    "caption_words", "BACKGROUNDS", "STYLES", "WORLD_VERSION", "RENDER_CHANGES",
]


WORLD_VERSION = 3  # raised whenever the plain world renders differently; caches of rendered events key on it
# world version -> the modalities it renders otherwise than the version before (2: clouds in the readers' frame)
RENDER_CHANGES = {2: (POINTS,), 3: (POINTS,)}


@dataclass(frozen=True)
class OmniShapesConfig:
    # the defaults are the model inputs' sizes, which each modality's file in `modalities/` holds
    image_size: int = IMAGE_SIZE  # side of image, video frames and depth maps, in pixels
    frames: int = FRAMES  # video frames per 1-clip event (frame t starts at t / frames of the clip)
    sample_rate: int = SAMPLE_RATE  # audio sample rate (Hz)
    duration_s: float = DURATION_S  # clip length in seconds (video, audio and IMU)
    n_mels: int = MEL_BINS  # mel bands of the log-mel spectrogram
    mel_frames: int = MEL_FRAMES  # time frames of the log-mel spectrogram
    n_fft: int = N_FFT  # STFT size for the log-mel spectrogram
    points: int = N_POINTS  # points per point cloud
    ground_fraction: float = 0.2  # share of points on a ground plane (label 0)
    captions_per_event: int = 3  # captions generated per event
    imu_rate: int = IMU_RATE  # IMU samples per second (the trace has imu_rate * duration_s samples)

    def __post_init__(self):
        checks = {
            "image_size": self.image_size >= 8, "frames": self.frames >= 3,
            "sample_rate": self.sample_rate >= 4000, "duration_s": self.duration_s > 0,
            "n_mels": self.n_mels >= 1, "mel_frames": self.mel_frames >= 1,
            "n_fft": self.n_fft >= 16, "points": self.points >= 2,
            "ground_fraction": 0.0 <= self.ground_fraction < 1.0,
            "captions_per_event": self.captions_per_event >= 1,
            "imu_rate": (isinstance(self.imu_rate, numbers.Integral) and not isinstance(self.imu_rate, bool)
                         and 20 <= self.imu_rate <= 2000 and self.imu_rate * self.duration_s >= 10),
        }
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"invalid OmniShapesConfig values: {', '.join(f'{k}={getattr(self, k)!r}' for k in bad)}")
        if self.sample_rate * self.duration_s < 2 * self.mel_frames:
            raise ValueError("clip too short for mel_frames")


class OmniShapes:
    """Renderer of the OmniShapes world. ``render(n, seed, start)`` gives events
    ``start .. start+n-1`` of split ``seed``."""

    def __init__(self, config: OmniShapesConfig = OmniShapesConfig()):
        if not isinstance(config, OmniShapesConfig):
            raise ValueError(f"config must be an OmniShapesConfig, got {type(config).__name__}")
        self.config = config

    def render(self, n: int, seed: int, start: int = 0, modalities=MODALITIES, device="cpu",
               siblings: int = 1, varied: float = 0.0, look_seed: int = 0) -> EventBatch:
        """Render events ``start .. start+n-1`` of ``seed`` in the requested modalities.

        Dense labels come with their modality (``segments``: image, depth, points), the waveform with
        audio; labels and params always.
        ``siblings`` > 1 makes runs of that many consecutive events share shape, colour and
        motion (see ``world.sample_events``); training uses it for hard negatives. A share ``varied``
        (0-1) of the events is drawn with a varied look (``looks.py``: backgrounds, styles, zoom, camera,
        turned clouds, noisy sound), the rest as the plain world; ``look_seed`` redraws those looks.
        """
        mods = self._check(n, seed, start, modalities, siblings)
        if isinstance(varied, bool) or not isinstance(varied, numbers.Real) or not 0.0 <= float(varied) <= 1.0:
            raise ValueError(f"varied must be a share between 0 and 1, got {varied!r}")
        n, seed, start = int(n), int(seed), int(start)
        cfg = self.config
        dev = torch.device(device)
        index = torch.arange(start, start + n, device=dev, dtype=torch.long)
        ev = sample_events(seed, index, cfg.frames, int(siblings), float(varied), int(look_seed))
        drawn: dict = {}  # modality -> what its renderer gave; a later renderer may reuse an earlier one's
        for modality, render in RENDERERS.items():
            if modality in mods:
                drawn[modality] = render(ev, cfg, drawn)
        return EventBatch(index=index, seed=int(seed), labels=_labels(ev), params={
            "size": ev.radius, "speed": ev.speed, "position": ev.position, "rotation": ev.angle,
            "onsets": ev.flash, "varied": ev.look.varied,
        }, inputs={m: drawn[m][INPUT] for m in MODALITIES if m in drawn},
            segments={m: d[SEGMENTS] for m, d in drawn.items() if SEGMENTS in d},
            waveform=next((d[WAVEFORM] for d in drawn.values() if WAVEFORM in d), None))

    def events(self, n: int, seed: int, start: int = 0, device="cpu") -> Events:
        """The raw event parameters (internal representation), without rendering."""
        self._check(n, seed, start, ())
        index = torch.arange(int(start), int(start) + int(n), device=torch.device(device))
        return sample_events(int(seed), index, self.config.frames)

    @staticmethod
    def describe(labels_row) -> str:
        """One-line human summary of an event from its class ids, e.g. ``batch.labels_row(i)``."""
        return _describe(labels_row)

    @staticmethod
    def _check(n, seed, start, modalities, siblings=1) -> tuple[str, ...]:
        for name, v in (("n", n), ("seed", seed), ("start", start), ("siblings", siblings)):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral):
                raise ValueError(f"{name} must be an int, got {v!r}")
        n, seed, start = int(n), int(seed), int(start)
        for name, v in (("n", n), ("siblings", siblings)):
            if int(v) < 1:
                raise ValueError(f"{name} must be >= 1, got {v}")
        if start < 0:
            raise ValueError(f"start must be >= 0, got {start}")
        if start + n > 2**62:
            raise ValueError("start + n too large")
        mods = (modalities,) if isinstance(modalities, str) else tuple(modalities)
        unknown = [m for m in mods if m not in MODALITIES]
        if unknown:
            raise ValueError(f"unknown modalities {unknown}; choose from {MODALITIES}")
        return mods


def _labels(ev: Events) -> dict[str, torch.Tensor]:
    return {"shape": ev.shape, "colour": ev.colour, "motion": ev.motion, "size": ev.size_cls, "speed": ev.speed_cls}
