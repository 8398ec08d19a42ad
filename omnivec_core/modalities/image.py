"""image: an RGB picture (3, 64, 64) in [0, 1], tokenized as a 1-frame video by the visual stem."""
from __future__ import annotations

from ..constants import PATCH, TUBELET
from .grid import PixelSegmentation

SIZE = 64  # pixels on a side of a picture, of a clip's frames and of a depth map
PATCHES = (SIZE // PATCH) ** 2  # tokens of one picture (and of one tubelet step of a clip)


class Image(PixelSegmentation):
    def stem_input(self, x):
        return x.unsqueeze(1)  # (B, C, H, W) -> a 1-frame video (B, 1, C, H, W)

    def target_dim(self, cfg) -> int:
        return PATCH**2 * 3  # the image's single frame, not the repeated tubelet

    def describe_stem(self, cfg) -> str:
        return f"tubelets {TUBELET}x{PATCH}x{PATCH}"


IMAGE = Image("image", "visual", 3, 1, SIZE, SIZE, 1, PATCHES, (1, PATCHES), ("shape", "colour", "size"), dense=True,
              anchor_rank=1, layout="spatial", view_kind="picture", reads=("image",), queries=("image",), out_of_world=(0.88, 0.98), label="image (frame 0)")
