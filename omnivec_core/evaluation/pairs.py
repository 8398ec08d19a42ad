"""How well every modality finds every other: instance retrieval and attribute precision@1 for every
ordered pair, and zero-shot classification of every modality from class prompts in text (MMV and
CLIP evaluate this way: no probe is trained)."""
from __future__ import annotations

import itertools

import torch

from ..analysis.embeddings import embed_modality
from ..data.omnishapes import ATTRIBUTES, class_prompts, parse_caption
from ..modalities import CAPTIONS, REGISTRY
from ..model import OmniVec
from .retrieval import recall_at


def named_attributes(modality: str, labels: dict[str, torch.Tensor], captions: list[str]) -> list[dict[str, str]]:
    """What each item says of its event: a caption what it names, any other sample the true classes of
    the attributes its modality observes."""
    if REGISTRY[modality].language:
        return [parse_caption(c) for c in captions]
    names = {a: [ATTRIBUTES[a][i] for i in labels[a].tolist()] for a in REGISTRY[modality].observes}
    return [{a: names[a][i] for a in names} for i in range(len(captions))]


def shares_attributes(a: str, b: str) -> bool:
    return bool(set(REGISTRY[a].observes) & set(REGISTRY[b].observes))


def pair_scores(model: OmniVec, labels: dict[str, torch.Tensor], captions: list[str],
                embedded: dict[str, dict[str, torch.Tensor]]) -> tuple[dict, dict]:
    """For every ordered pair (a, b) of the model's modalities that share a space: instance retrieval of
    event i's b among all b given event i's a (R@1/5/10, median rank), and attribute precision@1: the
    top-1 b agrees with the query on every attribute both say something about (pairs whose modalities
    observe a common attribute only)."""
    named = {m: named_attributes(m, labels, captions) for m in model.cfg.modalities}
    instance, attributes = {}, {}
    for a, b in itertools.permutations(model.cfg.modalities, 2):
        try:
            space = model.embedding.pair_space(a, b)
        except ValueError:  # disjoint spaces pair only the hub with each other modality
            continue
        similarity = embedded[a][space] @ embedded[b][space].t()
        instance[f"{a}->{b}"] = recall_at(similarity)
        if shares_attributes(a, b):
            top = similarity.argmax(1).tolist()
            hits = [all(query[k] == named[b][j][k] for k in query.keys() & named[b][j].keys())
                    for query, j in zip(named[a], top)]
            attributes[f"{a}->{b}"] = sum(hits) / len(hits)
    return instance, attributes


@torch.no_grad()
def prompt_embeddings(model: OmniVec, attribute: str, space: str) -> tuple[list[str], torch.Tensor]:
    """(class names, (classes, d) normalised mean embedding of each class's prompts) in `space`."""
    prompts = class_prompts(attribute)
    flat = [p for ps in prompts.values() for p in ps]
    embedded = embed_modality(model, CAPTIONS, flat)[space]                   # (P, d)
    means, start = [], 0
    for ps in prompts.values():
        means.append(embedded[start:start + len(ps)].mean(0))
        start += len(ps)
    return list(prompts), torch.nn.functional.normalize(torch.stack(means), dim=-1)


def zero_shot_attributes(model: OmniVec, modality: str) -> list[str]:
    """The attributes a modality can be classified on zero-shot: those it observes, if it meets captions."""
    if CAPTIONS not in model.cfg.modalities or modality == CAPTIONS:
        return []
    try:
        model.embedding.pair_space(modality, CAPTIONS)
    except ValueError:
        return []
    return list(REGISTRY[modality].observes)


def zero_shot_scores(model: OmniVec, labels: dict[str, torch.Tensor], embedded: dict[str, dict[str, torch.Tensor]]
                     ) -> dict[str, dict[str, float]]:
    """Accuracy of labelling each sample by its nearest class prompt, per modality and observed attribute."""
    out = {}
    for m in model.cfg.modalities:
        attributes = zero_shot_attributes(model, m)
        if not attributes:
            continue
        space = model.embedding.pair_space(m, CAPTIONS)
        out[m] = {}
        for attribute in attributes:
            _, classes = prompt_embeddings(model, attribute, space)
            predicted = (embedded[m][space] @ classes.t()).argmax(1)
            out[m][attribute] = (predicted == labels[attribute].cpu()).float().mean().item()
    return out


def zero_shot_labels(model: OmniVec, modality: str, embedding: dict[str, torch.Tensor]) -> dict[str, tuple[str, float]]:
    """One sample's nearest class prompt per attribute its modality observes: attribute -> (class, cosine)."""
    out = {}
    for attribute in zero_shot_attributes(model, modality):
        space = model.embedding.pair_space(modality, CAPTIONS)
        names, classes = prompt_embeddings(model, attribute, space)
        scores = classes @ embedding[space].float().cpu().reshape(-1)
        best = int(scores.argmax())
        out[attribute] = (names[best], float(scores[best]))
    return out


def pair_matrix(scores: dict, modalities, key: str | None = None) -> torch.Tensor:
    """A "a->b" table as a (M, M) matrix over `modalities` (rows: query, columns: target); NaN where the
    pair has no score. `key` picks one field of a dict score (such as "R@1")."""
    matrix = torch.full((len(modalities), len(modalities)), float("nan"))
    for i, a in enumerate(modalities):
        for j, b in enumerate(modalities):
            value = scores.get(f"{a}->{b}")
            if value is not None:
                matrix[i, j] = value[key] if key else value
    return matrix
