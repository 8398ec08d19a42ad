"""MAE decoder (one trunk shared by all modalities, or one trunk each) with per-modality positions and
prediction heads, and the per-modality reconstruction targets (patch pixels, log-mel patches, depth
patches, point groups)."""
from __future__ import annotations

import torch
from timm.layers import Mlp
from torch import nn

from ..config import ModelConfig
from ..constants import MLP_RATIO
from ..modalities import REGISTRY
from .layers import Block
from .tokens import gather_tokens


def blank_hidden_patches(cfg: ModelConfig, modality: str, x: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
    """Zero the input under the hidden tokens (B, N) of a grid modality, so a stem whose convolutions
    cross patch borders never sees them (points need nothing: each group's PointNet reads only its own)."""
    keep = 1.0 - hidden.to(x.dtype).unsqueeze(-1)  # (B, N, 1)
    spec = REGISTRY[modality]
    return spec.target_to_input(cfg, spec.mae_target(cfg, x, {}) * keep, x)


# The decoder's trunk parts: keyed by modality when `separate_decoders` is on (decoder.blocks.image.0...).
TRUNK_PARTS = ("embed", "blocks", "norm")


class MAEDecoder(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        reconstructed = [m for m in cfg.modalities if REGISTRY[m].reconstruct]
        dim = cfg.decoder_width
        self.separate = cfg.separate_decoders

        def trunk_parts() -> tuple[nn.Module, nn.Module, nn.Module]:
            blocks = nn.ModuleList(Block(dim, cfg.decoder_heads, MLP_RATIO) for _ in range(cfg.decoder_depth))
            return nn.Linear(cfg.width, dim), blocks, nn.LayerNorm(dim)

        if self.separate:
            parts = {m: trunk_parts() for m in reconstructed}
            self.embed, self.blocks, self.norm = (nn.ModuleDict({m: parts[m][i] for m in reconstructed})
                                                  for i in range(3))
        else:
            self.embed, self.blocks, self.norm = trunk_parts()
        self.mask_token = nn.Parameter(torch.zeros(1, 1, dim))
        placed = [m for m in reconstructed if REGISTRY[m].positions_from_centres]
        if len(placed) > 1:
            raise ValueError(f"the MAE decoder has one centre-position MLP; {placed} would share it")
        self.pos = nn.ParameterDict({m: nn.Parameter(torch.randn(REGISTRY[m].tokens, dim) * 0.02)
                                     for m in reconstructed if m not in placed})
        self.point_pos = Mlp(3, dim, dim) if placed else None  # the name old checkpoints carry
        self.predict = nn.ModuleDict({m: nn.Linear(dim, REGISTRY[m].target_dim(cfg)) for m in reconstructed})

    def trunk(self, modality: str) -> tuple[nn.Module, nn.ModuleList, nn.Module]:
        """(embed, blocks, norm) that decode this modality."""
        if self.separate:
            return self.embed[modality], self.blocks[modality], self.norm[modality]
        return self.embed, self.blocks, self.norm

    def all_blocks(self) -> list[nn.Module]:
        return [b for blocks in (self.blocks.values() if self.separate else [self.blocks]) for b in blocks]

    def positions(self, modality: str, tokens: int, extras: dict[str, torch.Tensor]) -> torch.Tensor:
        if REGISTRY[modality].positions_from_centres:
            return self.point_pos(extras["centres"])  # (B, G, dim): masked groups keep their centre
        return self.pos[modality][:tokens].unsqueeze(0)  # (1, N, dim)

    def forward(self, modality: str, latent: torch.Tensor, ids_restore: torch.Tensor,
                extras: dict[str, torch.Tensor]) -> torch.Tensor:
        """latent (B, 1+K, D) with the meta token first; ids_restore (B, N) -> prediction (B, N, target_dim)."""
        embed, blocks, norm = self.trunk(modality)
        x = embed(latent)
        batch, tokens = ids_restore.shape
        kept = x.shape[1] - 1
        fill = self.mask_token.expand(batch, tokens - kept, -1)
        content = gather_tokens(torch.cat([x[:, 1:], fill], dim=1), ids_restore)  # (B, N, dim), original order
        content = content + self.positions(modality, tokens, extras)
        x = torch.cat([x[:, :1], content], dim=1)
        for block in blocks:
            x = block(x)[0]
        return self.predict[modality](norm(x[:, 1:]))  # (B, N, target_dim)


def copy_shared_trunk(theirs: dict[str, torch.Tensor], ours: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A state dict with a shared decoder trunk, remapped for a model with separate trunks: every
    modality's trunk starts as a copy of the shared one. State dicts that need no remapping pass unchanged."""
    if "decoder.embed.weight" not in theirs or "decoder.embed.weight" in ours:
        return theirs
    trunk = tuple(f"decoder.{part}." for part in TRUNK_PARTS)
    out = {k: v for k, v in theirs.items() if not k.startswith(trunk)}
    for key in (k for k in ours if k.startswith(trunk)):
        part, _modality, rest = key.removeprefix("decoder.").split(".", 2)  # decoder.blocks.image.0... -> blocks.0...
        if f"decoder.{part}.{rest}" in theirs:
            out[key] = theirs[f"decoder.{part}.{rest}"].clone()
    return out
