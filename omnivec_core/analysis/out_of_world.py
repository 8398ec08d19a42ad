"""How unlike the training world a query is: an out-of-world score for any input the app embeds.

A query's typicality is its mean cosine similarity to its k nearest held-out OmniShapes events of the
same modality, in one space the gallery holds. The default is the vectorizer's output ("vector": what the
backbone makes of the input, before any embedding head), not the joint space retrieval ranks by: the
contrastive heads keep only what modalities share, and so map much foreign media among ordinary events
(bench/out_of_world.py compares the two spaces). The reference is the same quantity for every held-out event of the gallery against the rest of it
(leave-one-out), so the score, the share of held-out events more typical than the query, is an empirical
percentile in [0, 1]: about uniform for inputs like the training world, near 1 for inputs far from it.

Nothing here depends on one model: the reference is built from whatever model embedded the gallery, and
because the score is a percentile among that model's own held-out events, the thresholds that turn it
into words hold for any model (a retrained one included). bench/out_of_world.py chose them.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..modalities import REGISTRY

DEFAULT_K = 10
DEFAULT_SPACE = "vector"  # why not the joint space: see the module's docstring
NOT_SPACES = ("vector", "stem")  # kept per modality beside the embedding spaces; not spaces of a pair
# Each modality's thresholds are its registry entry's `out_of_world`: of those flagging at most 10 % (somewhat
# unlike) or 2 % (unlike) of held-out events of the validation seed, the pair catching the most foreign inputs
# (bench/out_of_world.py; BENCHMARKS §16 has what they catch). A percentile among the model's own held-out
# events, the score needs no new thresholds when the model changes; rerun the bench to check them all the same.

WORDS = ("this looks like what the model was trained on",
         "this is somewhat unlike what the model was trained on",
         "this looks unlike what the model was trained on: treat the results with care")


def space_of(embeddings: dict[str, torch.Tensor], preferred: str | None) -> str:
    """The space a modality is scored in: `preferred` where it has it (a joint space, "vector"), else (disjoint
    pair spaces) its first embedding space."""
    if preferred in embeddings:
        return preferred
    spaces = sorted(s for s in embeddings if s not in NOT_SPACES)
    if not spaces:
        raise ValueError("the gallery holds no embedding space for this modality")
    return spaces[0]


def knn_typicality(similarity: torch.Tensor, k: int) -> torch.Tensor:
    """(Q, N) cosine similarities -> (Q,) mean of each row's k largest."""
    return similarity.topk(min(k, similarity.shape[1]), dim=1).values.mean(1)


@dataclass(frozen=True)
class Reference:
    """One modality's held-out events in one space and their leave-one-out typicality (sorted)."""
    modality: str
    space: str
    k: int
    bank: torch.Tensor      # (N, d) unit vectors, float32
    typical: torch.Tensor   # (N,) sorted ascending

    def typicality(self, query: torch.Tensor) -> torch.Tensor:
        """(Q, d) or (d,) embeddings -> (Q,) mean cosine to their k nearest held-out events."""
        query = torch.nn.functional.normalize(query.float().cpu().reshape(-1, self.bank.shape[1]), dim=1)
        return knn_typicality(query @ self.bank.T, self.k)

    def score(self, query: torch.Tensor) -> torch.Tensor:
        """(Q,) share of held-out events more typical than each query, in [0, 1]; higher = less like the world.
        A non-finite embedding (a broken input) counts as unlike every event."""
        t = self.typicality(query)
        above = len(self.typical) - torch.searchsorted(self.typical, t.contiguous(), right=True)
        return torch.where(torch.isfinite(t), above.float() / len(self.typical), torch.ones_like(t))


def build_reference(bank: torch.Tensor, modality: str, space: str, k: int = DEFAULT_K) -> Reference:
    """Leave-one-out: each event's k nearest among the others, so an event never counts itself."""
    if len(bank) <= k:
        raise ValueError(f"{modality}: {len(bank)} held-out events are too few for k = {k}")
    bank = torch.nn.functional.normalize(bank.float().cpu(), dim=1)
    similarity = bank @ bank.T
    similarity.fill_diagonal_(-float("inf"))
    return Reference(modality, space, k, bank, knn_typicality(similarity, k).sort().values)


@dataclass(frozen=True)
class Verdict:
    modality: str
    space: str
    score: float

    @property
    def level(self) -> int:
        """0 like the world, 1 somewhat unlike, 2 unlike."""
        somewhat, unlike = REGISTRY[self.modality].out_of_world
        return 2 if self.score >= unlike else 1 if self.score >= somewhat else 0

    @property
    def words(self) -> str:
        return WORDS[self.level]

    def markdown(self) -> str:
        return (f"- **{self.modality}**: out-of-world score **{self.score:.2f}**: {self.words} "
                f"({self.score:.0%} of held-out OmniShapes {self.modality} events are more typical)")


class OutOfWorld:
    """The references of every modality of one gallery, built once (per model and gallery) and then only read."""

    def __init__(self, embeddings: dict[str, dict[str, torch.Tensor]], space: str | None = DEFAULT_SPACE,
                 k: int = DEFAULT_K):
        self.references = {}
        for modality, spaces in embeddings.items():
            chosen = space_of(spaces, space)
            self.references[modality] = build_reference(spaces[chosen], modality, chosen, k)

    def verdict(self, modality: str, embedded: dict[str, torch.Tensor]) -> Verdict:
        """One query's verdict from its embeddings (space -> (1, d) or (d,): embed_modality's, "vector" included)."""
        if modality not in self.references:
            raise ValueError(f"the gallery holds no {modality} events to compare with")
        reference = self.references[modality]
        return Verdict(modality, reference.space, float(reference.score(embedded[reference.space])[0]))

    def markdown(self, embedded: dict[str, dict[str, torch.Tensor]]) -> str:
        """What the app shows beside the results: a line per query modality (modality -> its embeddings)."""
        return verdicts_markdown([self.verdict(m, e) for m, e in embedded.items() if m in self.references])

    def scores(self, modality: str, embeddings: torch.Tensor) -> torch.Tensor:
        """Many queries at once, (Q, d) in the modality's reference space -> (Q,) scores (the bench's)."""
        return self.references[modality].score(embeddings)


def verdicts_markdown(verdicts: list[Verdict]) -> str:
    """The lines the app shows beside the results: one per query modality."""
    if not verdicts:
        return ""
    return ("**How familiar is this input?** (its k-NN similarity to held-out OmniShapes events, as a "
            "percentile among theirs; 0 typical, 1 unlike all of them)\n\n" + "\n".join(v.markdown() for v in verdicts))
