"""The transformer: one modality-agnostic stack shared by all modalities, or one stack per modality."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..config import ModelConfig
from ..constants import MLP_RATIO
from .layers import Block

SHARED = "shared"


@dataclass
class BackboneOutput:
    tokens: torch.Tensor                           # (B, N, D) after the final norm
    hidden: list[torch.Tensor] | None = None       # per block (B, N, D), only when recorded
    attention: list[torch.Tensor] | None = None    # per block (B, heads, N, N), only when recorded
    temporal_attention: list[torch.Tensor] | None = None  # per block, divided attention's temporal maps


class Backbone(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        rates = torch.linspace(0, cfg.drop_path, cfg.depth).tolist()
        divided = cfg.attention == "divided"
        stack = lambda: nn.ModuleList(Block(cfg.width, cfg.heads, MLP_RATIO, r, divided) for r in rates)  # noqa: E731
        keys = [SHARED] if cfg.backbone == "shared" else list(cfg.modalities)
        self.stacks = nn.ModuleDict({key: stack() for key in keys})
        self.norm = nn.LayerNorm(cfg.width)
        self.shared = cfg.backbone == "shared"

    def stack_key(self, modality: str) -> str:
        return SHARED if self.shared else modality

    def reset_temporal(self) -> None:
        for stack in self.stacks.values():
            for block in stack:
                block.reset_temporal()

    def forward(self, x: torch.Tensor, modality: str, key_padding: torch.Tensor | None = None,
                record: bool = False, layout=None) -> BackboneOutput:
        """x (B, N, D). `record` keeps every block's output and attention maps (slower path); `layout`
        (a SpaceTime) places the tokens in time and space for divided attention."""
        hidden, attention, temporal = [], [], []
        for block in self.stacks[self.stack_key(modality)]:
            x, weights, temporal_weights = block(x, key_padding, return_attention=record, layout=layout)
            if record:
                hidden.append(x)
                attention.append(weights)
                temporal.append(temporal_weights)
        out = self.norm(x)
        return BackboneOutput(out, hidden, attention, temporal) if record else BackboneOutput(out)
