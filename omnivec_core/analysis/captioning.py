"""What OmniVL's decoders say about inputs: captions written by the generation decoder (greedy, beam or
nucleus decoding) and match probabilities of the alignment decoder, used to re-rank a retrieval."""
from __future__ import annotations

import torch

from ..constants import TEMPERATURE
from ..model import OmniVec
from ..model.language import COMMA, DEC, EOS, MAX_CAPTION_TOKENS, PAD

DECODINGS = ("greedy", "beam", "nucleus")


def decoders_of(model: OmniVec):
    if model.language is None:
        raise ValueError("this model has no text decoders (model.text_decoder_depth is 0): it cannot caption or "
                         "match; train one with a stage of the captioning and matching objectives")
    return model.language


@torch.no_grad()
def caption(model: OmniVec, modality: str, x, decoding: str = "greedy", beams: int = 4, top_p: float = 0.9,
            seed: int = 0) -> list[str]:
    """One caption per input of `modality` (a batch as the model takes it)."""
    if decoding not in DECODINGS:
        raise ValueError(f"decoding must be one of {DECODINGS}, got {decoding!r}")
    decoders = decoders_of(model)
    memory, padding = model.language_memory(model.encode(modality, x))          # (B, M, W)
    if decoding == "beam":
        ids = beam_search(decoders, memory, padding, beams)
    else:
        generator = torch.Generator(device=memory.device).manual_seed(seed)
        ids = sample(decoders, memory, padding, top_p if decoding == "nucleus" else 0.0, generator)
    return [decoders.vocabulary.decode(row[1:]) for row in ids.tolist()]


def never_next(ids: torch.Tensor) -> list[int]:
    """Tokens a caption cannot continue with: padding and the start token; the first word neither ends it
    nor is a comma."""
    return [PAD, DEC] + ([EOS, COMMA] if ids.shape[1] == 1 else [])


def sample(decoders, memory, padding, top_p: float, generator) -> torch.Tensor:
    """Greedy (top_p 0) or nucleus decoding -> (B, L) ids from [DEC], [PAD] after each [EOS]."""
    ids = torch.full((memory.shape[0], 1), DEC, dtype=torch.long, device=memory.device)
    done = torch.zeros(memory.shape[0], dtype=torch.bool, device=memory.device)
    while ids.shape[1] < MAX_CAPTION_TOKENS and not done.all():
        logits = decoders.next_token_logits(ids, memory, padding)                   # (B, V)
        logits[:, never_next(ids)] = float("-inf")
        if top_p > 0:
            probs = logits.softmax(-1)
            ordered, order = probs.sort(-1, descending=True)
            outside = ordered.cumsum(-1) - ordered > top_p                         # beyond the nucleus
            ordered = ordered.masked_fill(outside, 0)
            token = order.gather(1, torch.multinomial(ordered, 1, generator=generator)).squeeze(1)
        else:
            token = logits.argmax(-1)
        token = token.masked_fill(done, PAD)
        ids = torch.cat([ids, token[:, None]], 1)
        done |= token == EOS
    return ids


def beam_search(decoders, memory, padding, beams: int) -> torch.Tensor:
    """The most likely caption of `beams` kept per input (summed log-probabilities, length-normalised at
    the end) -> (B, L) ids."""
    batch = memory.shape[0]
    memory = memory.repeat_interleave(beams, 0)                                   # (B*beams, M, W)
    padding = None if padding is None else padding.repeat_interleave(beams, 0)
    ids = torch.full((batch * beams, 1), DEC, dtype=torch.long, device=memory.device)
    scores = torch.full((batch, beams), float("-inf"), device=memory.device)
    scores[:, 0] = 0.0                                                            # all beams start equal: keep one
    done = torch.zeros(batch * beams, dtype=torch.bool, device=memory.device)
    while ids.shape[1] < MAX_CAPTION_TOKENS and not done.all():
        logp = decoders.next_token_logits(ids, memory, padding).log_softmax(-1)  # (B*beams, V)
        logp[:, never_next(ids)] = float("-inf")
        logp[done] = float("-inf")
        logp[done, PAD] = 0.0                                                     # a finished beam only pads
        vocab = logp.shape[1]
        total = (scores.reshape(-1, 1) + logp).reshape(batch, beams * vocab)     # (B, beams*V)
        scores, best = total.topk(beams, -1)                                      # (B, beams)
        parent = (best // vocab + torch.arange(batch, device=memory.device)[:, None] * beams).reshape(-1)
        token = (best % vocab).reshape(-1)
        ids = torch.cat([ids[parent], token[:, None]], 1)
        done = done[parent] | (token == EOS)
    lengths = ((ids != PAD) & (ids != DEC)).sum(1).clamp(min=1).reshape(batch, beams)
    pick = (scores / lengths).argmax(-1) + torch.arange(batch, device=memory.device) * beams
    return ids[pick]


@torch.no_grad()
def match_probabilities(model: OmniVec, modality: str, x, captions: list[str]) -> torch.Tensor:
    """(N, C) probability that caption c describes input n, by the alignment decoder."""
    return match_logits(model, modality, x, captions).sigmoid()


def rerank_scores(match: torch.Tensor, similarities: torch.Tensor) -> torch.Tensor:
    """(N,) re-ranking scores: the alignment decoder's match logit plus the contrastive logit (similarity /
    temperature), as BLIP re-ranks, so the decoder's verdict moves a candidate only as far as it is surer
    than the contrastive ranking (`match`: (N,) probabilities; `similarities`: (N,) cosines)."""
    return torch.logit(match.double(), eps=1e-6) + similarities.double() / TEMPERATURE


def rerank_order(scores: torch.Tensor) -> list[int]:
    """Candidate positions, best first by their `rerank_scores`."""
    return sorted(range(len(scores)), key=lambda j: -float(scores[j]))


@torch.no_grad()
def match_logits(model: OmniVec, modality: str, x, captions: list[str]) -> torch.Tensor:
    """(N, C) logit that caption c describes input n, by the alignment decoder."""
    decoders = decoders_of(model)
    memory, padding = model.language_memory(model.encode(modality, x))          # (N, M, W)
    count, width = len(captions), memory.shape[0]
    memory = memory.repeat_interleave(count, 0)                                   # (N*C, M, W)
    padding = None if padding is None else padding.repeat_interleave(count, 0)
    logits = decoders.match_logits(memory, padding, list(captions) * width)       # (N*C,)
    return logits.reshape(width, count)
