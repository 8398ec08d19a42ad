"""Transformer building blocks: pre-norm block with SDPA attention that can also return its maps."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from timm.layers import Mlp
from torch import nn


class Attention(nn.Module):
    """Multi-head self-attention. Uses fused SDPA unless the caller asks for the attention maps,
    which SDPA cannot return (timm's Attention does not either: hence our own)."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, key_padding: torch.Tensor | None = None, return_attention: bool = False,
                causal: bool = False, allowed: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """`allowed` (B, 1, N, N), when given, says which keys each query may attend to, padding included."""
        batch, tokens, dim = x.shape
        # (B, N, 3D) -> (3, B, heads, N, D/heads)
        qkv = self.qkv(x).reshape(batch, tokens, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        # key_padding (B, N) True = padding -> additive mask (B, 1, 1, N) broadcast over heads and queries
        attn_mask = None if key_padding is None else (~key_padding)[:, None, None, :]
        if allowed is not None:
            attn_mask = allowed
        if causal:  # (N, N) lower triangle: each query sees itself and what came before
            order = torch.ones(tokens, tokens, dtype=torch.bool, device=x.device).tril()
            attn_mask = order if attn_mask is None else attn_mask & order
        if return_attention:
            scores = (q @ k.transpose(-2, -1)) * q.shape[-1] ** -0.5
            if attn_mask is not None:
                scores = scores.masked_fill(~attn_mask, float("-inf"))
            weights = scores.softmax(dim=-1)
            out = weights @ v
        else:
            weights = None
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
        out = out.transpose(1, 2).reshape(batch, tokens, dim)  # (B, heads, N, d) -> (B, N, D)
        return self.proj(out), weights


class DropPath(nn.Module):
    """Stochastic depth per sample, as timm's, but with the keep probability a buffer, not a Python float:
    torch.compile then makes one graph for every block of a stack instead of guarding on each block's rate
    and compiling again per block until it gives up."""

    def __init__(self, rate: float):
        super().__init__()
        self.register_buffer("keep", torch.tensor(1.0 - rate), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        kept = torch.rand((x.shape[0],) + (1,) * (x.dim() - 1), device=x.device) < self.keep  # (B, 1, ...)
        return x * kept.to(x.dtype) / self.keep


class Block(nn.Module):
    """Pre-norm transformer block (timm's layout), with optional key padding and attention maps. `divided`
    adds TimeSformer's temporal attention before the (then spatial) attention, given a `SpaceTime` layout."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0, drop_path: float = 0.0, divided: bool = False):
        super().__init__()
        if divided:
            self.norm_time = nn.LayerNorm(dim)
            self.attn_time = Attention(dim, heads)
        self.divided = divided
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.drop_path = DropPath(drop_path)  # rate 0 too: one module type, one compiled graph for all blocks

    def forward(self, x: torch.Tensor, key_padding: torch.Tensor | None = None, return_attention: bool = False,
                layout=None) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """-> tokens, the (spatial) attention maps and the temporal ones (None where not run or recorded)."""
        temporal, spatial = None, None
        if self.divided and layout is not None:
            spatial = layout.spatial(key_padding)
            if layout.steps > 1:  # one time step (an image): nothing to attend to across time
                attended, temporal = self.attn_time(self.norm_time(x), None, return_attention,
                                                    allowed=layout.temporal(key_padding))
                x = x + self.drop_path(attended)
        attended, weights = self.attn(self.norm1(x), key_padding, return_attention, allowed=spatial)
        x = x + self.drop_path(attended)
        x = x + self.drop_path(self.mlp(self.norm2(x)))
        return x, weights, temporal

    def reset_temporal(self) -> None:
        """Start the temporal attention as no change (TimeSformer zero-initialises its output)."""
        if self.divided:
            nn.init.zeros_(self.attn_time.proj.weight)
            nn.init.zeros_(self.attn_time.proj.bias)


def init_weights(module: nn.Module) -> None:
    """ViT/MAE initialisation: xavier-uniform linears, zero biases, unit LayerNorms."""
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
