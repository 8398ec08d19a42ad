"""A batch of rendered events, read by modality name: ``batch[m]`` is modality m's model input.

The layout of each input is its registry entry's (``modalities/``): image (B, 3, H, W) and video (B, T, 3, H, W)
in [0, 1], audio (B, 1, n_mels, mel_frames) normalised log-mel, captions B lists of captions, depth (B, 1, H, W)
with 0 the background, points (B, N, 3), imu (B, T, 6). A folder of the user's media gives the same batch.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Callable

import torch

from ...modalities import MODALITIES


@dataclass
class EventBatch:
    """Behaves as a mapping from the rendered modalities to their inputs, except that ``len`` counts events."""

    index: torch.Tensor  # (B,) global event index (start .. start+B-1)
    seed: int
    labels: dict = field(default_factory=dict)  # name -> (B,) long class ids, names as ATTRIBUTES
    params: dict = field(default_factory=dict)  # size (B,), speed (B,), position (B,2), rotation (B,), onsets (B,T) bool
    inputs: dict = field(default_factory=dict)  # modality -> model input, for each rendered modality
    segments: dict = field(default_factory=dict)  # modality -> dense labels, 0 background or ground, 1+shape on the
                                                  # object: image and depth (B, H, W), points (B, N); long
    waveform: torch.Tensor | None = None  # (B, S) in [-1, 1]: the sound the audio input is the log-mel spectrogram of

    def __len__(self) -> int:
        return int(self.index.shape[0])

    def __getitem__(self, modality: str):
        if modality not in self.inputs:
            known = "registered" if modality in MODALITIES else "not a registered modality"
            raise KeyError(f"{modality!r} ({known}) is not in this batch; it holds {', '.join(self.modalities)}")
        return self.inputs[modality]

    def __contains__(self, modality: str) -> bool:
        return modality in self.inputs

    def get(self, modality: str, default=None):
        return self.inputs.get(modality, default)

    @property
    def modalities(self) -> tuple[str, ...]:
        """The modalities this batch holds, in registry order."""
        return tuple(m for m in MODALITIES if m in self.inputs)

    def items(self):
        return ((m, self.inputs[m]) for m in self.modalities)

    def to(self, device) -> "EventBatch":
        """A copy with every tensor on ``device`` (captions are shared)."""
        return self._mapped(lambda v: v.to(device) if isinstance(v, torch.Tensor) else v)

    def repeated(self, copies: int) -> "EventBatch":
        """Every event ``copies`` times in a row, in every field (OmniMAE's sample replication): B -> B*copies rows."""
        def rep(v):
            if isinstance(v, torch.Tensor):
                return v.repeat_interleave(copies, dim=0)  # (B, ...) -> (B*copies, ...), copies adjacent
            if isinstance(v, list):
                return [x for x in v for _ in range(copies)]
            return v
        return self._mapped(rep)

    def _mapped(self, change: Callable) -> "EventBatch":
        """A copy with ``change`` applied to every value, inside the dicts too."""
        def apply(v):
            return {k: apply(x) for k, x in v.items()} if isinstance(v, dict) else change(v)
        return EventBatch(**{f.name: apply(getattr(self, f.name)) for f in fields(self)})

    def labels_row(self, i: int) -> dict[str, int]:
        """Class ids of event ``i`` as Python ints (for ``OmniShapes.describe``)."""
        return {k: int(v[i]) for k, v in self.labels.items()}
