"""ALBEF / MoCo for UniVLC: a momentum (EMA) copy of the model encodes each batch's clips and captions into
queues of recent keys, kept with their labels; a clip's positives among the queued captions (and a
caption's among the queued clips) are decided by the labels exactly as within a batch."""
from __future__ import annotations

import copy

import torch

from ..model import OmniVec
from .encodings import agreement
from .losses import label_aware

MOMENTUM = 0.995  # ALBEF's EMA decay of the momentum encoder


class MomentumQueue:
    """The momentum encoder and the queues of one training run (held by the trainer, not saved: a resumed
    run starts them again from its weights)."""

    def __init__(self, model: OmniVec, size: int, captions_per_clip: int):
        self.encoder = copy.deepcopy(model).eval().requires_grad_(False)
        self.sizes = {"clips": size, "captions": size * captions_per_clip}
        self.keys: dict[str, torch.Tensor] = {}    # "clips" (Q, d), "captions" (Q*K, d): embeddings, newest first
        self.labels: dict[str, torch.Tensor] = {}  # "clips" (Q, A) class ids, "captions" (Q*K, A) named ids or -1

    @torch.no_grad()
    def follow(self, model: OmniVec) -> None:
        """EMA step of the momentum encoder towards the model's weights (buffers copied as they are)."""
        for ema, weight in zip(self.encoder.parameters(), model.parameters()):
            ema.lerp_(weight.detach(), 1.0 - MOMENTUM)
        for ema, buffer in zip(self.encoder.buffers(), model.buffers()):
            ema.copy_(buffer)

    @torch.no_grad()
    def push(self, kind: str, keys: torch.Tensor, labels: torch.Tensor) -> None:
        """Put the newest keys (N, d) and their labels (N, A) in front, forgetting the oldest beyond the size."""
        if kind in self.keys:
            keys, labels = torch.cat([keys, self.keys[kind]]), torch.cat([labels, self.labels[kind]])
        self.keys[kind], self.labels[kind] = keys[:self.sizes[kind]].detach(), labels[:self.sizes[kind]]

    def queued(self, kind: str, like: torch.Tensor, attributes: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(keys, labels) of `kind` in the queue; empty before the first push."""
        if kind not in self.keys:
            return like.new_zeros(0, like.shape[1]), torch.zeros(0, attributes, dtype=torch.long, device=like.device)
        return self.keys[kind], self.labels[kind]


def queued_univlc(clips: torch.Tensor, captions: torch.Tensor, clip_labels: torch.Tensor,
                  caption_named: torch.Tensor, queue: MomentumQueue, temperature: float) -> torch.Tensor:
    """UniVLC of the batch's clips (B, d) and captions (C, d) against the batch plus the queue: clips rank
    the batch's and the queued captions, captions the batch's and the queued clips; positives by labels."""
    queued_captions, _ = queue.queued("captions", captions, caption_named.shape[1])
    queued_clips, _ = queue.queued("clips", clips, clip_labels.shape[1])
    clip_to_text = clips @ torch.cat([captions, queued_captions]).t() / temperature      # (B, C+Qc)
    text_to_clip = captions @ torch.cat([clips, queued_clips]).t() / temperature         # (C, B+Qa)
    clip_positive, text_positive = queued_positives(clip_labels, caption_named, queue)
    return 0.5 * (label_aware(clip_to_text, clip_positive) + label_aware(text_to_clip, text_positive))


def queued_positives(clip_labels: torch.Tensor, caption_named: torch.Tensor, queue: MomentumQueue
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, C+Qc) which of the batch's and the queued captions fit each clip, and (C, B+Qa) which of the
    batch's and the queued clips each caption fits."""
    _, queued_named = queue.queued("captions", clip_labels.float(), caption_named.shape[1])
    _, queued_clip_labels = queue.queued("clips", clip_labels.float(), clip_labels.shape[1])
    clip_positive = agreement(clip_labels, torch.cat([caption_named, queued_named]))
    text_positive = agreement(torch.cat([clip_labels, queued_clip_labels]), caption_named).t()
    return clip_positive, text_positive
