"""depth: a single-channel depth map (1, 64, 64) in [0, 1], 0 = background, larger = nearer."""
from __future__ import annotations

from ..constants import PATCH
from .base import View
from .grid import PixelSegmentation
from .image import PATCHES, SIZE


class Depth(PixelSegmentation):
    def target_dim(self, cfg) -> int:
        return PATCH**2

    def from_loaded(self, loaded):
        """A picture read as a depth map: its luminance, one channel."""
        return loaded.tensor.mean(0, keepdim=True), list(loaded.notes) + ["converted to one channel (mean of RGB)"]

    def view(self, x) -> View:
        return View("heat", x[0])

    def describe_stem(self, cfg) -> str:
        return f"{PATCH}x{PATCH} patches"


DEPTH = Depth("depth", "depth", 1, 1, SIZE, SIZE, 1, PATCHES, (1, PATCHES), ("shape", "size"), dense=True, anchor_rank=2,
              layout="spatial", view_kind="heat", reads=("image",),
              out_of_world=(0.88, 0.98), label="depth (nearer = brighter)")
