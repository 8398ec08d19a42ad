"""MAE decoder (one trunk shared by all modalities, or one trunk each) with per-modality positions and
prediction heads, and the per-modality reconstruction targets (patch pixels, log-mel patches, depth
patches, point groups)."""
from __future__ import annotations

import torch
from timm.layers import Mlp
from torch import nn

from ..config import MODALITY_SPECS, ModelConfig
from . import patches
from .layers import Block
from .tokens import gather_tokens


def target_dim(cfg: ModelConfig, modality: str) -> int:
    """Length of one token's reconstruction target."""
    return {
        "image": cfg.patch**2 * 3,  # the image's single frame, not the repeated tubelet
        "video": cfg.tubelet * cfg.patch**2 * 3,
        "audio": cfg.patch**2,
        "depth": cfg.patch**2,
        "points": cfg.point_group_size * 3,
    }[modality]


def mae_target(cfg: ModelConfig, modality: str, x: torch.Tensor, extras: dict[str, torch.Tensor]) -> torch.Tensor:
    """The raw input cut into the stem's tokens -> (B, N, target_dim). No per-patch normalisation, so a
    reconstruction never borrows the true patch statistics."""
    if modality == "image":
        return patches.patchify_2d(x, cfg.patch)
    if modality == "video":
        return patches.patchify_video(x, cfg.tubelet, cfg.patch)
    if modality == "audio":
        return patches.patchify_spectrogram(x, cfg.patch)
    if modality == "depth":
        return patches.patchify_2d(x, cfg.patch)
    if modality == "points":
        return extras["local"].flatten(2)  # (B, G, k, 3) -> (B, G, k*3)
    raise ValueError(f"{modality} has no reconstruction target")


def target_to_input(cfg: ModelConfig, modality: str, tokens: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Inverse of `mae_target` for grid modalities: (B, N, target_dim) -> the layout of `like` (B, ...)."""
    p = cfg.patch
    if modality in ("image", "depth"):
        return patches.unpatchify_2d(tokens, (like.shape[-2] // p, like.shape[-1] // p), p, like.shape[1])
    if modality == "audio":
        return patches.unpatchify_spectrogram(tokens, (like.shape[-1] // p, like.shape[-2] // p), p)
    if modality == "video":
        grid = (-(-like.shape[1] // cfg.tubelet), like.shape[-2] // p, like.shape[-1] // p)
        return patches.unpatchify_video(tokens, grid, cfg.tubelet, p, like.shape[2])[:, :like.shape[1]]
    raise ValueError(f"{modality} has no patch grid")


def blank_hidden_patches(cfg: ModelConfig, modality: str, x: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
    """Zero the input under the hidden tokens (B, N) of a grid modality, so a stem whose convolutions
    cross patch borders never sees them (points need nothing: each group's PointNet reads only its own)."""
    keep = 1.0 - hidden.to(x.dtype).unsqueeze(-1)  # (B, N, 1)
    return target_to_input(cfg, modality, mae_target(cfg, modality, x, {}) * keep, x)


# The decoder's trunk parts: keyed by modality when `separate_decoders` is on (decoder.blocks.image.0...).
TRUNK_PARTS = ("embed", "blocks", "norm")


class MAEDecoder(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        reconstructed = [m for m in cfg.modalities if MODALITY_SPECS[m].reconstruct]
        dim = cfg.decoder_width
        self.separate = cfg.separate_decoders

        def trunk_parts() -> tuple[nn.Module, nn.Module, nn.Module]:
            blocks = nn.ModuleList(Block(dim, cfg.decoder_heads, cfg.mlp_ratio) for _ in range(cfg.decoder_depth))
            return nn.Linear(cfg.width, dim), blocks, nn.LayerNorm(dim)

        if self.separate:
            parts = {m: trunk_parts() for m in reconstructed}
            self.embed, self.blocks, self.norm = (nn.ModuleDict({m: parts[m][i] for m in reconstructed})
                                                  for i in range(3))
        else:
            self.embed, self.blocks, self.norm = trunk_parts()
        self.mask_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.ParameterDict({m: nn.Parameter(torch.randn(MODALITY_SPECS[m].tokens, dim) * 0.02)
                                     for m in reconstructed if m != "points"})
        self.point_pos = Mlp(3, dim, dim) if "points" in reconstructed else None
        self.predict = nn.ModuleDict({m: nn.Linear(dim, target_dim(cfg, m)) for m in reconstructed})

    def trunk(self, modality: str) -> tuple[nn.Module, nn.ModuleList, nn.Module]:
        """(embed, blocks, norm) that decode this modality."""
        if self.separate:
            return self.embed[modality], self.blocks[modality], self.norm[modality]
        return self.embed, self.blocks, self.norm

    def all_blocks(self) -> list[nn.Module]:
        return [b for blocks in (self.blocks.values() if self.separate else [self.blocks]) for b in blocks]

    def positions(self, modality: str, tokens: int, extras: dict[str, torch.Tensor]) -> torch.Tensor:
        if modality == "points":
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
            x, _ = block(x)
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
