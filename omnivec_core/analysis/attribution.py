"""Why two inputs are near: token attribution of the cosine similarity of their embeddings, on both sides.

The attribution is gradient x input on the token embeddings each modality's stem hands on (positions
included): one backward pass gives every token of both inputs its first-order share of the similarity, for
any two modalities, words of a sentence included. `deletion_curves` checks it as the issue asks: hiding the
most-attributed tokens should lower the similarity more than hiding as many chosen at random. Occlusion
(`occlusion_scores`, one forward per token) is the costly reference it is compared with.

Hiding is DropToken's removal: a hidden token leaves the attention and the pooling (it is marked as key
padding, which the backbone, the vectorizer and the time profile all skip), so a row may hide any number of
its own tokens while the batch keeps one shape. A test checks that this gives DropToken's embeddings.
"""
from __future__ import annotations

import contextlib
import dataclasses
import threading
from dataclasses import dataclass

import torch

from ..model import OmniVec
from ..model.tokens import StemOutput
from ..modalities import REGISTRY


@dataclass
class Side:
    """One input's tokens and what they did for the similarity (the first sample of a batch for the views)."""
    modality: str
    scores: torch.Tensor          # (B, N) gradient x input per token, 0 on padding
    real: torch.Tensor            # (B, N) True where a token is content (not padding)
    stem: StemOutput              # grid and extras (point centres) of the stem


@dataclass
class Attribution:
    space: str                    # the embedding space the two are compared in (as retrieval compares them)
    similarity: torch.Tensor      # (B,) cosine similarity of the whole inputs
    sides: tuple[Side, Side]


@contextlib.contextmanager
def _stem_tap(model: OmniVec, modality: str, hidden: torch.Tensor | None = None, captured: list | None = None):
    """While open, the modality's stem output is changed on its way to the backbone: its tokens become a
    leaf that gradients reach (appended to `captured`), and the tokens `hidden` (B, N) True are removed.
    Only in this thread: a server encoding other requests with the same model meanwhile is left alone."""
    owner = threading.get_ident()

    def tap(module, args, out: StemOutput) -> StemOutput | None:
        if threading.get_ident() != owner:
            return None  # another request's encoding: its output stays as the stem made it
        tokens, padding = out.tokens, out.key_padding
        if captured is not None:
            tokens = tokens.detach().requires_grad_(True)
            captured.append(tokens)
        if hidden is not None:
            padding = hidden if padding is None else padding | hidden
        return dataclasses.replace(out, tokens=tokens, key_padding=padding)

    handle = model.stems[REGISTRY[modality].stem].register_forward_hook(tap)
    try:
        yield
    finally:
        handle.remove()


def embed(model: OmniVec, modality: str, x, space: str, hidden: torch.Tensor | None = None,
          captured: list | None = None) -> tuple[torch.Tensor, StemOutput]:
    """(B, d) embeddings of `x` in `space` with the tokens `hidden` removed, and the stem output."""
    with _stem_tap(model, modality, hidden, captured):
        encoded = model.encode(modality, x)
    spaces = model.embed(encoded)
    if space not in spaces:
        raise ValueError(f"{modality} has no {space!r} embedding; it has {sorted(spaces)}")
    return spaces[space], encoded.stem


def attribute(model: OmniVec, a: str, xa, b: str, xb) -> Attribution:
    """Gradient x input of cos(embedding of xa, embedding of xb) on both inputs' stem tokens, row by row
    (batch rows are independent: the model is in eval mode, its batch norms use running statistics)."""
    if model.training:
        raise ValueError("attribution needs the model in eval mode (batch norms on running statistics)")
    space = model.embedding.pair_space(a, b)
    captured: list[torch.Tensor] = []
    with torch.enable_grad():
        ea, stem_a = embed(model, a, xa, space, captured=captured)
        eb, stem_b = embed(model, b, xb, space, captured=captured)
        similarity = (ea.float() * eb.float()).sum(-1)                                   # (B,)
        grads = torch.autograd.grad(similarity.sum(), captured)
    sides = []
    for modality, tokens, grad, stem in zip((a, b), captured, grads, (stem_a, stem_b)):
        real = torch.ones(tokens.shape[:2], dtype=torch.bool, device=tokens.device) if stem.key_padding is None \
            else ~stem.key_padding
        scores = (grad * tokens).sum(-1).detach().float() * real                        # (B, N)
        sides.append(Side(modality, scores, real, stem))
    return Attribution(space, similarity.detach(), tuple(sides))


def hide_top(scores: torch.Tensor, real: torch.Tensor, fraction: float) -> torch.Tensor:
    """(B, N) True on the round(fraction x content tokens) highest-scoring content tokens of each row."""
    count = (real.sum(1) * fraction).round().long()                                      # (B,)
    order = scores.masked_fill(~real, float("-inf")).argsort(dim=1, descending=True, stable=True)
    ranks = order.argsort(dim=1)                                                           # (B, N) rank of each token
    return (ranks < count[:, None]) & real


def hide_random(real: torch.Tensor, fraction: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """(B, N) True on as many content tokens as `hide_top` hides, chosen uniformly at random."""
    noise = torch.rand(real.shape, generator=generator)  # a CPU generator: the same draws on any device
    return hide_top(noise.to(real.device), real, fraction)


@torch.no_grad()
def hidden_similarity(model: OmniVec, modality: str, x, other: torch.Tensor, space: str,
                      hidden: torch.Tensor) -> torch.Tensor:
    """(B,) cosine similarity of `x` with the tokens `hidden` removed to the other side's embeddings (B, d)."""
    embedded, _ = embed(model, modality, x, space, hidden)
    return (embedded.float() * other.float()).sum(-1)


@torch.no_grad()
def occlusion_scores(model: OmniVec, modality: str, x, other: torch.Tensor, space: str, real: torch.Tensor
                     ) -> torch.Tensor:
    """(B, N) how much the similarity falls when each content token alone is removed: one forward per token."""
    whole = hidden_similarity(model, modality, x, other, space, torch.zeros_like(real))
    scores = torch.zeros(real.shape, device=real.device)
    for token in range(real.shape[1]):
        hidden = torch.zeros_like(real)
        hidden[:, token] = True
        scores[:, token] = whole - hidden_similarity(model, modality, x, other, space, hidden & real)
    return scores * real


def deletion_curves(model: OmniVec, a: str, xa, b: str, xb, fractions=(0.0, 0.1, 0.2, 0.3, 0.5), draws: int = 2,
                    generator: torch.Generator | None = None, occlusion: bool = False, hide: tuple[str, ...] = ()
                    ) -> dict[str, dict[str, list]]:
    """For each side of the pair (those named in `hide`, default both): the mean fall of the similarity when a
    fraction of its tokens is hidden (the other side whole), by attribution, at random (mean of `draws` draws)
    and, with `occlusion`, by occlusion scores -> {modality: {"attributed": [...], "random": [...],
    ("occlusion": [...])}} per fraction. Same-modality pairs report the first side."""
    result = attribute(model, a, xa, b, xb)
    with torch.no_grad():
        whole = {m: embed(model, m, x, result.space)[0] for m, x in ((a, xa), (b, xb))}
    curves = {}
    for side, (x, other) in zip(result.sides, ((xa, whole[b]), (xb, whole[a]))):
        if side.modality in curves or (hide and side.modality not in hide):
            continue
        ranked = {"attributed": side.scores}
        if occlusion:
            ranked["occlusion"] = occlusion_scores(model, side.modality, x, other, result.space, side.real)
        def fall(hidden: torch.Tensor) -> float:
            """Mean fall of the similarity with `hidden` removed (none hidden: nothing to run, no fall)."""
            if not hidden.any():
                return 0.0
            return (result.similarity - hidden_similarity(model, side.modality, x, other, result.space, hidden)
                    ).mean().item()

        curve = {name: [fall(hide_top(scores, side.real, f)) for f in fractions] for name, scores in ranked.items()}
        curve["random"] = [sum(fall(hide_random(side.real, f, generator)) for _ in range(draws)) / draws
                           for f in fractions]
        curves[side.modality] = curve
    return curves
