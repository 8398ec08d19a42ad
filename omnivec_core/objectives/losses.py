"""Loss functions: MAE reconstruction (masked tokens only), NCE, MIL-NCE, UniVLC, classification.
Segmentation losses belong to each modality (per pixel or per point: `Modality.segmentation_loss`)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..modalities import REGISTRY
from ..model import MAEOutput
from ..model.tokens import masked_mean


def mean_of_visible(out: MAEOutput) -> torch.Tensor:
    """The trivial reconstruction: every token guessed as the mean of its sample's visible tokens (B, N, d)."""
    return masked_mean(out.target, out.mask.bool()).unsqueeze(1).expand_as(out.target)


def mae_loss(modality: str, out: MAEOutput, relative: bool = False) -> torch.Tensor:
    """Mean error over the masked tokens only. `relative` divides it by the error of the mean-of-visible
    guess on the same tokens (held constant), so 1 means no better than that guess in every modality:
    raw squared errors of log-mel patches are about 30x those of pixels, and would otherwise drown them."""
    hidden, count = out.mask, out.mask.sum().clamp(min=1)
    token_error = REGISTRY[modality].token_error
    loss = (token_error(out.prediction, out.target) * hidden).sum() / count
    if not relative:
        return loss
    with torch.no_grad():
        baseline = (token_error(mean_of_visible(out), out.target) * hidden).sum() / count
    return loss / baseline.clamp(min=1e-8)


def nce(a: torch.Tensor, b: torch.Tensor, temperature: float) -> torch.Tensor:
    """Symmetric InfoNCE for paired rows of two normalised (B, d) embeddings."""
    logits = a @ b.t() / temperature
    labels = torch.arange(a.shape[0], device=a.device)
    return 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels))


def mil_nce(clips: torch.Tensor, captions: torch.Tensor, temperature: float,
            negatives: torch.Tensor | None = None) -> torch.Tensor:
    """MIL-NCE: clips (B, d) and K captions per clip (B, K, d); any of a clip's captions is a positive.
    -log( sum_pos exp / (sum_pos exp + sum_neg exp) ), both directions. `negatives` (B, M, d) are
    captions known to be wrong about their clip: extra negatives for that clip only, clip -> text."""
    batch, k, _ = captions.shape
    logits = clips @ captions.reshape(batch * k, -1).t() / temperature   # (B, B*K)
    owner = torch.arange(batch, device=clips.device).repeat_interleave(k)  # caption -> clip
    positive = owner[None, :] == torch.arange(batch, device=clips.device)[:, None]  # (B, B*K)
    scores = logits
    if negatives is not None:
        own = torch.einsum("bd,bmd->bm", clips, negatives) / temperature    # (B, M)
        scores = torch.cat([logits, own], 1)
        positive = torch.cat([positive, torch.zeros_like(own, dtype=torch.bool)], 1)
    clip_to_text = torch.logsumexp(scores.masked_fill(~positive, float("-inf")), 1) - torch.logsumexp(scores, 1)
    # text -> clip: for each clip, its K captions against all clips
    by_clip = logits.t().reshape(batch, k, batch)                          # (B_caption-owner, K, B_clips)
    text_pos = torch.logsumexp(by_clip.diagonal(dim1=0, dim2=2).t(), 1)    # (B,) positives: each caption vs own clip
    text_all = torch.logsumexp(by_clip.reshape(batch, -1), 1)
    return -0.5 * (clip_to_text.mean() + (text_pos - text_all).mean())


def univlc(a: torch.Tensor, b: torch.Tensor, positive: torch.Tensor, temperature: float) -> torch.Tensor:
    """UniVLC (OmniVL): label-aware contrastive loss. Rows of `a` (Na, d) against rows of `b` (Nb, d);
    every pair marked in `positive` (Na, Nb) is a positive. Each row of `a` needs at least one; a row
    of `b` with none (a caption no clip fits) serves only as a negative, in the a -> b direction."""
    logits = a @ b.t() / temperature
    if not positive.any(1).all():
        raise ValueError("univlc: every row of `a` needs at least one positive")
    return 0.5 * (label_aware(logits, positive) + label_aware(logits.t(), positive.t()))


def label_aware(scores: torch.Tensor, marked: torch.Tensor) -> torch.Tensor:
    """One direction of UniVLC: each row's mean -log softmax over its marked (positive) columns, averaged
    over the rows that have any."""
    log_prob = scores - torch.logsumexp(scores, 1, keepdim=True)
    count = marked.sum(1)
    return (-(log_prob * marked).sum(1)[count > 0] / count[count > 0]).mean()


def weighted_mean(values: dict[str, torch.Tensor], weights: dict[str, float]) -> torch.Tensor:
    """Mean of the values weighted by `weights` (a missing weight counts 1; no values give 0)."""
    shares = {key: weights.get(key, 1.0) for key in values}
    return sum(shares[key] * value for key, value in values.items()) / max(sum(shares.values()), 1e-8)


def classification_loss(logits: dict[str, torch.Tensor], labels: dict[str, torch.Tensor],
                        weights: dict[str, float] | None = None) -> torch.Tensor:
    """Weighted mean over attributes of each attribute's cross-entropy."""
    return weighted_mean({name: F.cross_entropy(logits[name], labels[name]) for name in logits}, weights or {})
