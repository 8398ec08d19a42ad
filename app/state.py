"""What every tab shares: the loaded model, its device, the OmniShapes world and the gallery.
One object, built once in launch.py and handed to each tab (no module-level state)."""
from __future__ import annotations

import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import torch

from omnivec_core.analysis.gallery import Gallery, load_or_build_gallery
from omnivec_core.config import ExperimentConfig
from omnivec_core.data.omnishapes import OmniShapes
from omnivec_core.model import OmniVec
from omnivec_core.train.checkpoint import load_model

DEFAULT_GALLERY = 500


@dataclass
class AppState:
    device: torch.device
    checkpoint: Path | None = None
    model: OmniVec | None = None
    config: ExperimentConfig | None = None
    load_error: str | None = None
    world: OmniShapes = field(default_factory=OmniShapes)
    galleries: dict[int, Gallery] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    scratch: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="omnivec-previews-")))  # cached thumbnails

    def load(self, checkpoint: Path) -> None:
        """Swap in the model at `checkpoint` (all tabs see it at their next call)."""
        model, config = load_model(checkpoint, self.device)
        with self.lock:
            self.model, self.config, self.checkpoint, self.load_error = model, config, Path(checkpoint), None
            self.galleries = {}

    def require_model(self) -> OmniVec:
        import gradio as gr

        if self.model is None:
            raise gr.Error(self.load_error or "No model is loaded: train one in the Train tab or start the app "
                                              "with --checkpoint DIR.")
        return self.model

    def gallery(self, n: int = DEFAULT_GALLERY) -> Gallery:
        """The held-out gallery of n events (cached on disk beside the checkpoint and in memory)."""
        model = self.require_model()
        with self.lock:
            if n not in self.galleries:
                self.galleries[n] = load_or_build_gallery(model, self.checkpoint, n)
            return self.galleries[n]

    def describe(self) -> str:
        if self.model is None:
            return self.load_error or "No model loaded."
        params = sum(v.numel() for v in self.model.trainable_state_dict().values()) / 1e6
        return (f"Model `{self.checkpoint}`: preset **{self.config.preset}**, {params:.2f} M trained parameters, "
                f"running on **{self.device}**.")
