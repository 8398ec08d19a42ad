"""How well OmniVL's decoders work on held-out events: captions parsed back into attributes (per
modality, on the attributes it observes), and text->target attribute precision@1 before and after the
alignment decoder re-ranks the contrastive top-k."""
from __future__ import annotations

import torch

from ..analysis.captioning import caption, match_probabilities, rerank_order, rerank_scores
from ..data.omnishapes import ATTRIBUTES, parse_caption
from ..modalities import CAPTIONS, REGISTRY
from ..model import OmniVec


@torch.no_grad()
def caption_accuracy(model: OmniVec, batch, decoding: str = "greedy", chunk: int = 128) -> dict[str, dict]:
    """modality -> attribute -> share of events whose caption names the attribute's true class (a caption
    that leaves it out counts as wrong), for every attribute the modality observes."""
    out = {}
    for m in (m for m in model.cfg.modalities if m != CAPTIONS):
        x = REGISTRY[m].batch_input(batch)
        said = [parse_caption(c) for start in range(0, len(batch), chunk)
                for c in caption(model, m, x[start:start + chunk], decoding)]
        out[m] = {a: sum(s.get(a) == ATTRIBUTES[a][i] for s, i in zip(said, batch.labels[a].tolist())) / len(said)
                  for a in REGISTRY[m].observes}
    return out


@torch.no_grad()
def rerank(model: OmniVec, sentence: str, candidates, target: str, similarities: torch.Tensor) -> list[int]:
    """Candidate positions (into `candidates`, the target's inputs), best first by the alignment decoder's
    match logit plus the contrastive logit (`rerank_order`)."""
    return rerank_order(rerank_scores(match_probabilities(model, target, candidates, [sentence])[:, 0], similarities))


@torch.no_grad()
def reranked_precision(model: OmniVec, batch, embedded: dict, target: str, queries: int = 200,
                       top: int = 10) -> dict[str, float]:
    """Text->`target` attribute precision@1 over the first `queries` captions: by the contrastive ranking,
    and after the alignment decoder re-ranks its top `top` candidates (match logit + contrastive logit)."""
    space = model.embedding.pair_space(CAPTIONS, target)
    captions = [row[0] for row in batch[CAPTIONS]]
    x = REGISTRY[target].batch_input(batch)
    observed = REGISTRY[target].observes
    truth = [{a: ATTRIBUTES[a][i] for a, i in zip(observed, row)}
             for row in zip(*(batch.labels[a].tolist() for a in observed))]
    before = after = 0
    count = min(queries, len(captions))
    for q in range(count):
        similarity = embedded[CAPTIONS][space][q] @ embedded[target][space].t()
        best = similarity.topk(min(top, len(similarity)))
        said = {a: c for a, c in parse_caption(captions[q]).items() if a in observed}
        agrees = [all(truth[j][a] == c for a, c in said.items()) for j in best.indices.tolist()]
        order = rerank(model, captions[q], x[best.indices], target, best.values)
        before, after = before + agrees[0], after + agrees[order[0]]
    return {"contrastive": before / count, "reranked": after / count, "queries": count, "top": top}
