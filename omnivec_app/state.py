"""What every tab shares: the loaded model, its device, the OmniShapes world and the gallery.
One object, built once in launch.py (omnivec_app/launch.py) and handed to each tab (no module-level state)."""
from __future__ import annotations

import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from omnivec_core.analysis.folder_gallery import FolderGallery, load_folder_gallery
from omnivec_core.analysis.gallery import Gallery, load_or_build_gallery
from omnivec_core.analysis.out_of_world import OutOfWorld
from omnivec_core.config import ExperimentConfig
from omnivec_core.data.omnishapes import OmniShapes
from omnivec_core.model import OmniVec
from omnivec_core.train.checkpoint import load_model

from .paths import PathPolicy

DEFAULT_GALLERY = 500
OMNISHAPES, FOLDER = "OmniShapes held-out events", "my folder"  # the galleries a tab may search or map


@dataclass
class AppState:
    device: torch.device
    checkpoint: Path | None = None
    model: OmniVec | None = None
    config: ExperimentConfig | None = None
    load_error: str | None = None
    world: OmniShapes = field(default_factory=OmniShapes)
    galleries: dict[int, Gallery] = field(default_factory=dict)
    folder: Path | None = None                                       # the user's media folder (--gallery DIR)
    folder_galleries: dict[Path, FolderGallery] = field(default_factory=dict)
    familiar: tuple[Gallery, OutOfWorld] | None = None  # out-of-world reference and the gallery it was built from
    computed: dict = field(default_factory=dict)  # what `once` computed for the loaded model (pair matrices ...)
    lock: threading.Lock = field(default_factory=threading.Lock)
    scratch: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="omnivec-previews-")))  # cached thumbnails
    paths: PathPolicy = field(default_factory=PathPolicy)  # which typed server paths a tab may open (paths.py)
    training: bool = True  # False (--no-train): the Train tab's Start and /train refuse

    def typed_path(self, text: str | Path) -> Path:
        """A server path the user typed, through the path policy: a gr.Error saying why it is refused."""
        import gradio as gr

        try:
            return self.paths.check(text)
        except ValueError as error:
            raise gr.Error(str(error)) from None

    def load(self, checkpoint: Path) -> None:
        """Swap in the model at `checkpoint` (all tabs see it at their next call)."""
        model, config = load_model(checkpoint, self.device)
        with self.lock:
            self.model, self.config, self.checkpoint, self.load_error = model, config, Path(checkpoint), None
            self.galleries, self.folder_galleries, self.familiar, self.computed = {}, {}, None, {}

    def require_model(self) -> OmniVec:
        import gradio as gr

        if self.model is None:
            raise gr.Error(self.load_error or "No model is loaded: train one in the Train tab or start the app "
                                              "with --checkpoint DIR.")
        return self.model

    def once(self, key: tuple, compute: Callable[[], object]):
        """`compute()` for the loaded model, the first time `key` is asked for; its result after that (a class
        asking at once shares one answer: what every student's page shows alike is computed once per model)."""
        with self.lock:
            if key in self.computed:
                return self.computed[key]
            model = self.model
        value = compute()  # outside the lock: other tabs keep answering meanwhile
        with self.lock:
            if self.model is model:  # not a model loaded while computing
                self.computed.setdefault(key, value)
            return self.computed.get(key, value)

    def gallery(self, n: int = DEFAULT_GALLERY) -> Gallery:
        """The held-out gallery of n events (cached on disk beside the checkpoint and in memory)."""
        model = self.require_model()
        with self.lock:
            if n not in self.galleries:
                self.galleries[n] = load_or_build_gallery(model, self.checkpoint, n)
            return self.galleries[n]

    def out_of_world(self) -> OutOfWorld:
        """What a query's out-of-world score compares it with: the held-out OmniShapes events of the default
        gallery (whatever gallery a tab searches, the training world is what a query is measured against;
        one fixed size, so a score does not move with the gallery slider). Built once per model."""
        gallery = self.gallery(DEFAULT_GALLERY)
        with self.lock:
            if self.familiar is None or self.familiar[0] is not gallery:  # a model loaded since: build anew
                self.familiar = gallery, OutOfWorld(gallery.embeddings)
            return self.familiar[1]

    def folder_gallery(self, root: str | Path | None = None, progress=None) -> FolderGallery:
        """The user's folder embedded by the loaded model (cached on disk and in memory): `root`, else the folder
        the app was started with. A folder one browser indexes stays that browser's: it is not made anyone's
        default (each page keeps the path it typed)."""
        import gradio as gr

        model = self.require_model()
        root = self.typed_path(root).resolve() if root else self.folder
        if root is None:
            raise gr.Error("no folder given: type the path of a folder of your own media (or start the app with "
                           "--gallery DIR)")
        if not root.is_dir():
            raise gr.Error(f"{root} is not a folder")
        with self.lock:
            if root not in self.folder_galleries:
                try:
                    self.folder_galleries[root] = load_folder_gallery(model, self.checkpoint, root, progress)
                except (ValueError, OSError) as error:
                    raise gr.Error(f"could not index {root}: {error}") from None
            return self.folder_galleries[root]

    def pick_gallery(self, source: str, folder: str | None, n: int, progress=None) -> Gallery | FolderGallery:
        """The gallery a tab works on: n OmniShapes held-out events, or the user's folder."""
        import gradio as gr

        if source == FOLDER:
            return self.folder_gallery(folder or None, progress)
        if source != OMNISHAPES:
            raise gr.Error(f"unknown gallery {source!r}; choose {OMNISHAPES!r} or {FOLDER!r}")
        return self.gallery(n)

    def describe(self) -> str:
        if self.model is None:
            return self.load_error or "No model loaded."
        params = sum(v.numel() for v in self.model.trainable_state_dict().values()) / 1e6
        return (f"Model `{self.checkpoint}`: preset **{self.config.preset}**, {params:.2f} M trained parameters, "
                f"running on **{self.device}**.")
