"""What happens inside the backbone: activation magnitude per layer and modality (VATT's view),
token norms per layer, and attention from the meta token onto a sample's patches."""
from __future__ import annotations

import torch

from ..model import Encoded, OmniVec


@torch.no_grad()
def layer_modality_magnitude(model: OmniVec, inputs: dict[str, object]) -> tuple[list[str], torch.Tensor]:
    """Mean absolute activation of the content tokens after every block -> (modalities, (layers, M))."""
    names, columns = [], []
    for modality, x in inputs.items():
        encoded = model.encode(modality, x, record=True)
        columns.append(torch.stack([_content_mean(h.abs().mean(-1), encoded.key_padding) for h in encoded.hidden]))
        names.append(modality)
    return names, torch.stack(columns, dim=1).cpu()


def _content_mean(per_token: torch.Tensor, key_padding: torch.Tensor | None) -> torch.Tensor:
    """(B, 1+N) per-token values -> scalar mean over the real content tokens."""
    content = per_token[:, 1:]
    if key_padding is None:
        return content.mean()
    keep = (~key_padding).float()
    return (content * keep).sum() / keep.sum()


def token_norms(encoded: Encoded) -> torch.Tensor:
    """L2 norm of every content token after every block, first sample of a recorded encoding -> (layers, N)."""
    return torch.stack([h[0, 1:].norm(dim=-1) for h in encoded.hidden]).cpu()


def meta_attention(encoded: Encoded, layer: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """How much the meta token attends to each content token at `layer`, averaged over heads, for
    the first sample of a recorded encoding -> ((N,), token grid)."""
    if not 0 <= layer < len(encoded.attention):
        raise ValueError(f"layer must be between 0 and {len(encoded.attention) - 1}, got {layer}")
    weights = encoded.attention[layer][0].mean(0)  # (1+N, 1+N) averaged over heads
    return weights[0, 1:].cpu(), encoded.stem.grid


def attention_layout(weights: torch.Tensor, grid: tuple[int, int], layout: str) -> dict:
    """Meta-token attention (N,) laid out as its modality's tokens lie (`Modality.layout`): a patch grid
    (averaged over time), a spectrogram (frequency x time) or a sequence -> values (rows, cols), the row
    and column labels, and the titles of the picture and its axes."""
    steps, per_step = grid
    if layout == "spatial":
        side = int(round(per_step ** 0.5))
        values = weights.reshape(steps, side, side).mean(0).numpy()  # a clip's patches, averaged over time
        return dict(values=values[::-1], x=list(range(side)), y=list(range(side))[::-1], x_title="patch column",
                    y_title="patch row", title="meta-token attention over patches (clips: mean over time)")
    if layout == "spectrogram":
        return dict(values=weights.reshape(steps, per_step).t().numpy(), x=list(range(steps)),
                    y=list(range(per_step)), x_title="time patch", y_title="frequency patch",
                    title="meta-token attention over spectrogram patches")
    return dict(values=weights[None].numpy(), x=list(range(len(weights))), y=["attention"], x_title="token",
                y_title="", title="meta-token attention per token, in order (padding included)")



def temporal_attention(encoded: Encoded, layer: int) -> torch.Tensor | None:
    """Divided attention's temporal part at `layer` for the first sample: (steps, steps), how much a token at
    one time step attends to its own position at each time step, averaged over heads and positions; None
    where the block ran none (joint attention, or an input with one time step)."""
    maps = encoded.temporal_attention
    if not maps or maps[layer] is None:
        return None
    weights = maps[layer][0].mean(0)[1:, 1:]                                      # (N, N), content tokens
    steps, per_step = encoded.stem.grid
    by_step = weights.reshape(steps, per_step, steps, per_step)                   # (t, s, t', s')
    return by_step.diagonal(dim1=1, dim2=3).mean(-1).cpu()                        # (t, t'): same position s = s'
