"""OmniVL's generative half as objectives: vision-language matching (`matching`, the alignment decoder's
binary loss on hard negatives mined from the contrastive similarities) and language modelling
(`captioning`, the generation decoder's next-token loss), for every signal modality the model has."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..config import StageConfig, TrainConfig
from ..modalities import CAPTIONS, REGISTRY
from ..model import OmniVec
from .encodings import (caption_agreement, caption_embeddings, names_attributes, shared_space, signal_embeddings,
                        signal_encodings)


def language_decoders(model: OmniVec):
    if model.language is None:
        raise ValueError("the matching and captioning objectives need OmniVL's text decoders: set "
                         "model.text_decoder_depth > 0")
    return model.language


def own_captions(batch, step: int) -> list[str]:
    """One caption per event, taking each of its captions in turn over the steps."""
    return [row[step % len(row)] for row in batch[CAPTIONS]]


def captioning_objective(model: OmniVec, batch, cfg: TrainConfig, stage: StageConfig, step: int, cache: dict
                         ) -> dict[str, torch.Tensor]:
    """Teacher-forced captioning of each signal modality's inputs by the generation decoder."""
    decoders, captions = language_decoders(model), own_captions(batch, step)
    return {f"lm/{m}": decoders.lm_loss(*model.language_memory(e), captions)
            for m, e in signal_encodings(model, batch, cfg, cache).items()}


def hard_negatives(similarity: torch.Tensor, allowed: torch.Tensor, generator: torch.Generator | None = None
                   ) -> torch.Tensor:
    """(R,) one column per row of `similarity` (R, C), drawn with probability softmax(similarity) among the
    `allowed` (R, C) columns (ALBEF's hard-negative mining); a row with none allowed draws uniformly."""
    weights = similarity.detach().float().softmax(-1) * allowed
    weights = torch.where(weights.sum(-1, keepdim=True) > 0, weights, torch.ones_like(weights))
    return torch.multinomial(weights, 1, generator=generator).squeeze(1)


def matching_objective(model: OmniVec, batch, cfg: TrainConfig, stage: StageConfig, step: int, cache: dict
                       ) -> dict[str, torch.Tensor]:
    """Each input with its own caption (a match), with the caption most like it that disagrees with its
    event on an attribute it observes, and each caption with the input most like it that it does not fit."""
    if not names_attributes(batch):  # hard negatives are captions that disagree on an attribute
        return {}
    decoders, captions = language_decoders(model), own_captions(batch, step)
    text = caption_embeddings(model, batch, cfg, cache)
    per_event = len(batch[CAPTIONS][0])
    positive = torch.arange(len(batch), device=batch.index.device) * per_event + step % per_event  # (B,)
    out = {}
    for m, encoded in signal_encodings(model, batch, cfg, cache).items():
        space = shared_space(model, m, CAPTIONS)
        if space is None:
            continue
        similarity = signal_embeddings(model, batch, cfg, cache)[m][space] @ text[space][positive].t()   # (B, B)
        fits = caption_agreement(batch.labels, captions, REGISTRY[m].observes).to(similarity.device)  # (B, B)
        wrong_caption = hard_negatives(similarity, ~fits)            # per input: a caption it does not fit
        wrong_input = hard_negatives(similarity.t(), ~fits.t())      # per caption: an input it does not fit
        rows = torch.cat([torch.arange(len(batch), device=similarity.device)] * 2 + [wrong_input])
        texts = captions + [captions[i] for i in wrong_caption.tolist()] + captions
        memory, padding = model.language_memory(encoded)
        padding = None if padding is None else padding[rows]
        logits = decoders.match_logits(memory[rows], padding, texts)                            # (3B,)
        labels = torch.cat([torch.ones(len(batch)), torch.zeros(2 * len(batch))]).to(logits.device)
        out[f"vlm/{m}"] = F.binary_cross_entropy_with_logits(logits, labels)
    return out
