"""Token plumbing shared by all modalities: stem outputs, meta tokens with the conditioned
projection into the shared width, and MAE-style masking (which DropToken reuses)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from timm.layers import Mlp
from torch import nn


@dataclass
class StemOutput:
    tokens: torch.Tensor                    # (B, N, stem_dim), positions already added
    grid: tuple[int, int]                   # (time steps, tokens per step) for structured masks
    key_padding: torch.Tensor | None = None  # (B, N) True where a token is padding (text)
    extras: dict[str, torch.Tensor] = field(default_factory=dict)  # e.g. point centres and neighbourhoods


class MetaConditioner(nn.Module):
    """OmniVec meta tokens: modality identity and input dimensions (T, H, W, C, L) become one vector
    that is prepended as a token and FiLM-conditions the projection from stem_dim to the shared width."""

    def __init__(self, modalities: tuple[str, ...], stem_dim: int, width: int):
        super().__init__()
        self.index = {m: i for i, m in enumerate(modalities)}
        self.modality = nn.Embedding(len(modalities), width)
        self.dims = Mlp(5, width, width)
        self.film = nn.Linear(width, 2 * stem_dim)
        self.proj = nn.Linear(stem_dim, width)

    def reset_film(self) -> None:
        """Start as a plain projection; the conditioning is learned."""
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)

    def meta(self, modality: str, dims: tuple[int, ...]) -> torch.Tensor:
        device = self.modality.weight.device
        scaled = torch.tensor([math.log2(d) / 10 for d in dims], device=device, dtype=self.modality.weight.dtype)
        return self.modality.weight[self.index[modality]] + self.dims(scaled)  # (width,)

    def forward(self, tokens: torch.Tensor, modality: str, dims: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
        meta = self.meta(modality, dims)
        gamma, beta = self.film(meta).chunk(2)
        return self.proj(tokens * (1 + gamma) + beta), meta  # (B, N, width), (width,)


@dataclass
class Masking:
    ids_keep: torch.Tensor     # (B, K) indices of the tokens that stay, in shuffled order
    ids_restore: torch.Tensor  # (B, N) undoes the shuffle: kept + mask tokens -> original order
    mask: torch.Tensor         # (B, N) 1.0 where a token was removed, in original order


def make_masking(batch: int, grid: tuple[int, int], ratio: float, kind: str = "random",
                 device=None, generator: torch.Generator | None = None) -> Masking:
    """Choose which tokens to remove, by argsort of per-token scores (MAE).

    random: any round((1-r)N) tokens stay. tube: the same spatial positions stay at every time step.
    frame: whole time steps are removed at random. causal: the latest time steps are removed.
    """
    steps, per_step = grid
    tokens = steps * per_step
    if not 0.0 <= ratio < 1.0:
        raise ValueError(f"mask ratio must be in [0, 1), got {ratio}")
    if kind in ("frame", "causal") and steps == 1:
        raise ValueError(f"{kind} masking needs a time axis; this modality has a single time step")
    noise = lambda *shape: torch.rand(*shape, device=device, generator=generator)  # noqa: E731
    if kind == "random":
        scores, keep = noise(batch, tokens), max(1, round((1 - ratio) * tokens))
    elif kind == "tube":
        scores = noise(batch, 1, per_step).expand(batch, steps, per_step).reshape(batch, tokens)
        keep = steps * max(1, round((1 - ratio) * per_step))
    elif kind == "frame":
        scores = noise(batch, steps, 1).expand(batch, steps, per_step).reshape(batch, tokens)
        keep = per_step * max(1, round((1 - ratio) * steps))
    elif kind == "causal":
        order = torch.arange(steps, device=device, dtype=torch.float32)
        scores = order[None, :, None].expand(batch, steps, per_step).reshape(batch, tokens)
        keep = per_step * max(1, round((1 - ratio) * steps))
    else:
        raise ValueError(f"unknown mask type {kind!r}; choose random, tube, frame or causal")
    ids_shuffle = torch.argsort(scores, dim=1, stable=True)  # (B, N): kept first
    ids_restore = torch.argsort(ids_shuffle, dim=1)
    mask = torch.ones(batch, tokens, device=device)
    mask[:, :keep] = 0
    return Masking(ids_shuffle[:, :keep], ids_restore, torch.gather(mask, 1, ids_restore))


def gather_tokens(x: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """(B, N, ...) gathered along N by (B, K) -> (B, K, ...)."""
    index = ids.reshape(*ids.shape, *([1] * (x.dim() - 2))).expand(-1, -1, *x.shape[2:])
    return torch.gather(x, 1, index)


def masked_mean(x: torch.Tensor, key_padding: torch.Tensor | None) -> torch.Tensor:
    """(B, N, D) -> (B, D), averaging only the tokens that are not padding; a row with none gives zeros."""
    if key_padding is None:
        return x.mean(1)
    keep = (~key_padding).unsqueeze(-1).to(x.dtype)  # (B, N, 1)
    return (x * keep).sum(1) / keep.sum(1).clamp(min=1)


def masked_slot_mean(x: torch.Tensor, slot: torch.Tensor, slots: int, key_padding: torch.Tensor | None
                     ) -> torch.Tensor:
    """(B, N, D) tokens and (B, N) slot ids in [0, slots) -> (B, slots, D), the mean of each slot's
    tokens that are not padding; an empty slot gives zeros."""
    weight = torch.nn.functional.one_hot(slot, slots).to(x.dtype)                 # (B, N, S)
    if key_padding is not None:
        weight = weight * (~key_padding).unsqueeze(-1).to(x.dtype)
    total = torch.einsum("bns,bnd->bsd", weight, x)                                # (B, S, D)
    return total / weight.sum(1).clamp(min=1.0).unsqueeze(-1)


def masked_max(x: torch.Tensor, key_padding: torch.Tensor | None) -> torch.Tensor:
    """(B, N, D) -> (B, D), the largest value over tokens that are not padding; a row with none gives
    zeros, not -inf."""
    if key_padding is None:
        return x.amax(1)
    return x.masked_fill(key_padding.unsqueeze(-1), float("-inf")).amax(1).nan_to_num(0.0, neginf=0.0)
