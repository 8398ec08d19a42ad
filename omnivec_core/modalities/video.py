"""video: 8 RGB frames (8, 3, 64, 64) in [0, 1] over one second, tokenized as 2x8x8 tubelets."""
from __future__ import annotations

from ..constants import PATCH, TUBELET
from . import patches
from .base import Modality, spread_heat
from .image import PATCHES, SIZE

FRAMES = 8  # frames of a one-second clip (frame k at k / FRAMES s)


class Video(Modality):
    def input_dims(self, x, text_window: int) -> tuple[int, int, int, int, int]:
        return (x.shape[1], x.shape[3], x.shape[4], x.shape[2], 1)  # (B, T, C, H, W)

    def target_dim(self, cfg) -> int:
        return TUBELET * PATCH**2 * 3

    def mae_target(self, cfg, x, extras):
        return patches.patchify_video(x, TUBELET, PATCH)

    def target_to_input(self, cfg, tokens, like):
        p = PATCH
        grid = (-(-like.shape[1] // TUBELET), like.shape[-2] // p, like.shape[-1] // p)
        return patches.unpatchify_video(tokens, grid, TUBELET, p, like.shape[2])[:, :like.shape[1]]

    def describe_stem(self, cfg) -> str:
        return f"tubelets {TUBELET}x{PATCH}x{PATCH}"

    def token_layout(self, scores, grid):
        steps, per_step = grid
        side = int(round(per_step ** 0.5))
        return scores.reshape(steps, side, side)  # (N,) time-major tubelets -> (time steps, rows, cols)

    def view_heat(self, scores, grid, x, extras):
        steps = self.token_layout(scores, grid).repeat_interleave(TUBELET, 0)[: x.shape[0]]  # (T, rows, cols)
        return spread_heat(steps, (x.shape[0], *x.shape[-2:]))                               # (T, H, W)

    def token_name(self, index, grid):
        step, rest = divmod(index, grid[1])
        row, column = divmod(rest, int(round(grid[1] ** 0.5)))
        return f"frames {step * TUBELET + 1}-{step * TUBELET + TUBELET}, patch row {row + 1}, column {column + 1}"


VIDEO = Video("video", "visual", 3, FRAMES, SIZE, SIZE, 1, FRAMES // TUBELET * PATCHES, (FRAMES // TUBELET, PATCHES),
              ("shape", "colour", "motion", "size", "speed"), anchor_rank=0, mask_ratio=0.9, mask_type="tube",
              layout="spatial", view_kind="animation", reads=("video",), queries=("video",), out_of_world=(0.89, 0.98), label="video (8 frames, 1 s)")
