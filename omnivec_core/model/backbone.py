"""The transformer: one modality-agnostic stack shared by all modalities, or one stack per modality."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..config import MLP_RATIO, ModelConfig
from .layers import Block

SHARED = "shared"


@dataclass
class BackboneOutput:
    tokens: torch.Tensor                           # (B, N, D) after the final norm
    hidden: list[torch.Tensor] | None = None       # per block (B, N, D), only when recorded
    attention: list[torch.Tensor] | None = None    # per block (B, heads, N, N), only when recorded


class Backbone(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        rates = torch.linspace(0, cfg.drop_path, cfg.depth).tolist()
        stack = lambda: nn.ModuleList(Block(cfg.width, cfg.heads, MLP_RATIO, r) for r in rates)  # noqa: E731
        keys = [SHARED] if cfg.backbone == "shared" else list(cfg.modalities)
        self.stacks = nn.ModuleDict({key: stack() for key in keys})
        self.norm = nn.LayerNorm(cfg.width)
        self.shared = cfg.backbone == "shared"

    def stack_key(self, modality: str) -> str:
        return SHARED if self.shared else modality

    def forward(self, x: torch.Tensor, modality: str, key_padding: torch.Tensor | None = None,
                record: bool = False) -> BackboneOutput:
        """x (B, N, D). `record` keeps every block's output and attention map (slower path)."""
        hidden, attention = [], []
        for block in self.stacks[self.stack_key(modality)]:
            x, weights = block(x, key_padding, return_attention=record)
            if record:
                hidden.append(x)
                attention.append(weights)
        out = self.norm(x)
        return BackboneOutput(out, hidden, attention) if record else BackboneOutput(out)
