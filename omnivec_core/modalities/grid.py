"""What every modality cut on a regular patch grid shares: a dense head that predicts each patch's
pixels' classes, and segmentation by cross-entropy over pixels."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..constants import PATCH
from . import patches
from .base import Modality, spread_heat


class PixelSegmentation(Modality):
    """A grid modality with a per-pixel dense target (image, depth)."""

    def make_dense_head(self, cfg, classes: int) -> nn.Module:
        return nn.Linear(cfg.width, PATCH**2 * classes)

    def segment(self, head: nn.Module, tokens: torch.Tensor, grid: tuple[int, int], x, extras: dict, cfg,
                classes: int) -> torch.Tensor:
        """Content tokens (B, N, D) in original order -> per-pixel logits (B, classes, H, W)."""
        side = int(round(grid[1] ** 0.5))
        logits = head(tokens)                                                     # (B, N, p*p*classes)
        return patches.unpatchify_2d(logits, (side, side), PATCH, classes)   # (B, classes, H, W)

    def segmentation_loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, target)

    def dense_classes(self, logits: torch.Tensor) -> torch.Tensor:
        """Per-pixel logits (B, classes, H, W) -> predicted class ids (B, H, W)."""
        return logits.argmax(1)

    def mae_target(self, cfg, x: torch.Tensor, extras: dict) -> torch.Tensor:
        return patches.patchify_2d(x, PATCH)

    def target_to_input(self, cfg, tokens: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        p = PATCH
        return patches.unpatchify_2d(tokens, (like.shape[-2] // p, like.shape[-1] // p), p, like.shape[1])

    def input_dims(self, x, text_window: int) -> tuple[int, int, int, int, int]:
        return (1, x.shape[2], x.shape[3], x.shape[1], 1)  # (B, C, H, W)

    def token_layout(self, scores: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        side = int(round(grid[1] ** 0.5))
        return scores.reshape(side, side)  # (N,) row-major patches -> (rows, cols)

    def view_heat(self, scores, grid, x, extras) -> torch.Tensor:
        return spread_heat(self.token_layout(scores, grid), x.shape[-2:])  # (H, W) of the picture or map

    def token_name(self, index: int, grid: tuple[int, int]) -> str:
        row, column = divmod(index, int(round(grid[1] ** 0.5)))
        return f"patch row {row + 1}, column {column + 1}"
