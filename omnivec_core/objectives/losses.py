"""Loss functions: MAE reconstruction (masked tokens only), NCE, MIL-NCE, UniVLC, task losses."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..model import MAEOutput


def chamfer(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Symmetric Chamfer distance between point sets (..., k, 3) -> (...)."""
    distance = torch.cdist(prediction, target).square()  # (..., k, k)
    return distance.min(-1).values.mean(-1) + distance.min(-2).values.mean(-1)


def mae_loss(modality: str, out: MAEOutput) -> torch.Tensor:
    """Mean error over the masked tokens only: squared error per value, Chamfer for point groups."""
    if modality == "points":
        per_token = chamfer(out.prediction.unflatten(-1, (-1, 3)), out.target.unflatten(-1, (-1, 3)))
    else:
        per_token = (out.prediction - out.target).square().mean(-1)  # (B, N)
    return (per_token * out.mask).sum() / out.mask.sum().clamp(min=1)


def nce(a: torch.Tensor, b: torch.Tensor, temperature: float) -> torch.Tensor:
    """Symmetric InfoNCE for paired rows of two normalised (B, d) embeddings."""
    logits = a @ b.t() / temperature
    labels = torch.arange(a.shape[0], device=a.device)
    return 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels))


def mil_nce(clips: torch.Tensor, captions: torch.Tensor, temperature: float) -> torch.Tensor:
    """MIL-NCE: clips (B, d) and K captions per clip (B, K, d); any of a clip's captions is a positive.
    -log( sum_pos exp / (sum_pos exp + sum_neg exp) ), both directions."""
    batch, k, _ = captions.shape
    logits = clips @ captions.reshape(batch * k, -1).t() / temperature   # (B, B*K)
    owner = torch.arange(batch, device=clips.device).repeat_interleave(k)  # caption -> clip
    positive = owner[None, :] == torch.arange(batch, device=clips.device)[:, None]  # (B, B*K)
    clip_to_text = torch.logsumexp(logits.masked_fill(~positive, float("-inf")), 1) - torch.logsumexp(logits, 1)
    # text -> clip: for each clip, its K captions against all clips
    by_clip = logits.t().reshape(batch, k, batch)                          # (B_caption-owner, K, B_clips)
    text_pos = torch.logsumexp(by_clip.diagonal(dim1=0, dim2=2).t(), 1)    # (B,) positives: each caption vs own clip
    text_all = torch.logsumexp(by_clip.reshape(batch, -1), 1)
    return -0.5 * (clip_to_text.mean() + (text_pos - text_all).mean())


def univlc(a: torch.Tensor, b: torch.Tensor, positive: torch.Tensor, temperature: float) -> torch.Tensor:
    """UniVLC (OmniVL): label-aware contrastive loss. Rows of `a` (Na, d) against rows of `b` (Nb, d);
    every pair marked in `positive` (Na, Nb) is a positive, each row and column needs at least one."""
    logits = a @ b.t() / temperature
    def direction(scores: torch.Tensor, marked: torch.Tensor) -> torch.Tensor:
        log_prob = scores - torch.logsumexp(scores, 1, keepdim=True)
        return -(log_prob * marked).sum(1) / marked.sum(1)
    return 0.5 * (direction(logits, positive).mean() + direction(logits.t(), positive.t()).mean())


def classification_loss(logits: dict[str, torch.Tensor], labels: dict[str, torch.Tensor]) -> torch.Tensor:
    return sum(F.cross_entropy(logits[name], labels[name]) for name in logits) / len(logits)


def segmentation_loss(logits: torch.Tensor, target: torch.Tensor, per_point: bool) -> torch.Tensor:
    """Per-pixel (B, C, H, W) or per-point (B, P, C) logits against class ids."""
    if per_point:
        return F.cross_entropy(logits.flatten(0, 1), target.flatten())
    return F.cross_entropy(logits, target)
