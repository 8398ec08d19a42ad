"""Retrieval metrics on embeddings (torch only, so training can use them for quick evals)."""
from __future__ import annotations

import torch


def instance_ranks(similarity: torch.Tensor) -> torch.Tensor:
    """(Q, G) similarities where query i's match is gallery i -> 1-based rank of each match (Q,)."""
    correct = similarity.diagonal().unsqueeze(1)
    return (similarity > correct).sum(1) + 1


def recall_at(similarity: torch.Tensor, ks=(1, 5, 10)) -> dict[str, float]:
    """Instance retrieval: R@k for each k and the median rank."""
    ranks = instance_ranks(similarity).float()
    out = {f"R@{k}": (ranks <= k).float().mean().item() for k in ks}
    out["median_rank"] = ranks.median().item()
    return out


def attribute_precision(similarity: torch.Tensor, query_attributes: list[dict[str, str]],
                        gallery_labels: dict[str, list[str]]) -> float:
    """Share of queries whose top-1 gallery item has every attribute the query names.
    `query_attributes` are parsed captions; `gallery_labels` maps attribute -> name per item."""
    top = similarity.argmax(1).tolist()
    hits = [all(gallery_labels[attr][j] == value for attr, value in named.items())
            for named, j in zip(query_attributes, top)]
    return sum(hits) / max(len(hits), 1)


def search(model, gallery, query_modality: str, query: dict[str, torch.Tensor], target: str, k: int
           ) -> tuple[list[int], list[float]]:
    """Top-k gallery events (items of a folder gallery) in `target` for one query's embeddings
    (space -> (1, d) or (d,))."""
    space = model.embedding.pair_space(query_modality, target)
    scores = gallery.embeddings[target][space] @ query[space].float().cpu().reshape(-1)
    top = scores.topk(min(k, len(scores)))
    return gallery.item_of(target, top.indices.tolist()), top.values.tolist()
