"""Divided space-time attention (TimeSformer, as OmniVL's encoder uses it): in each block a token first
attends to the tokens at its own position in other time steps (temporal), then to the tokens of its own
time step and the meta token (spatial). Built as attention masks over the kept tokens, so masking and
DropToken work unchanged; an input with one time step (an image) has no temporal part at all."""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class SpaceTime:
    time: torch.Tensor   # (B, 1+K) each token's time step, -1 for the meta token
    space: torch.Tensor  # (B, 1+K) its position within the time step, -1 for the meta token
    steps: int           # time steps of the widest input in the batch (1: no temporal attention)

    @classmethod
    def of(cls, positions: torch.Tensor, grid: tuple[int, int]) -> "SpaceTime":
        """Kept content tokens at `positions` (B, K) of a time-major grid (steps, per step)."""
        steps, per_step = grid
        meta = positions.new_full((positions.shape[0], 1), -1)
        return cls(torch.cat([meta, positions // per_step], 1), torch.cat([meta, positions % per_step], 1), steps)

    @classmethod
    def cat(cls, layouts: list["SpaceTime"]) -> "SpaceTime":
        return cls(torch.cat([s.time for s in layouts]), torch.cat([s.space for s in layouts]),
                   max(s.steps for s in layouts))

    def temporal(self, key_padding: torch.Tensor | None) -> torch.Tensor:
        """(B, 1, N, N) allowed: content tokens at the same position in any time step; the meta token and
        padding attend to themselves only."""
        content = self.time >= 0
        allowed = (self.space[:, :, None] == self.space[:, None, :]) & content[:, :, None] & content[:, None, :]
        if key_padding is not None:
            allowed &= ~key_padding[:, None, :]
        eye = torch.eye(allowed.shape[1], dtype=torch.bool, device=allowed.device)
        return (allowed | eye)[:, None]

    def spatial(self, key_padding: torch.Tensor | None) -> torch.Tensor:
        """(B, 1, N, N) allowed: tokens of the same time step, and the meta token with every token."""
        meta = self.time < 0
        allowed = (self.time[:, :, None] == self.time[:, None, :]) | meta[:, :, None] | meta[:, None, :]
        if key_padding is not None:
            allowed &= ~key_padding[:, None, :]
        return allowed[:, None]
