"""The out-of-world score (omnivec_core/analysis/out_of_world.py): on made-up embeddings, a percentile in [0, 1]
that is about uniform for inputs like the reference and 1 for an outlier, leave-one-out, built once; with the
bundled model, pure noise in every modality and blank white and grey pages score above held-out events."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from omnivec_core.analysis import out_of_world
from omnivec_core.analysis.embeddings import embed_batch, embed_modality
from omnivec_core.analysis.gallery import build_gallery
from omnivec_core.analysis.out_of_world import (DEFAULT_SPACE, WORDS, OutOfWorld, Verdict, build_reference,
                                                knn_typicality, space_of)
from omnivec_core.data import readers
from omnivec_core.data.omnishapes import OmniShapes
from omnivec_core.modalities import REGISTRY

BUNDLED = Path(__file__).resolve().parents[1] / "checkpoints" / "omnivec-default"
HELD_OUT_SEED = 2_024_117  # no training, evaluation, calibration (31337) or gallery seed


def clusters(n: int, dims: int = 16, centres: int = 5, seed: int = 0) -> torch.Tensor:
    """Unit vectors around a few centres (the same whatever `seed` draws): a world of a few kinds of thing."""
    middle = torch.randn(centres, dims, generator=torch.Generator().manual_seed(99))
    middle = torch.nn.functional.normalize(middle, dim=1)
    g = torch.Generator().manual_seed(seed)
    points = middle[torch.randint(centres, (n,), generator=g)] + 0.3 * torch.randn(n, dims, generator=g) / dims ** 0.5
    return torch.nn.functional.normalize(points, dim=1)


def test_scores_are_percentiles_uniform_inside_and_one_far_outside():
    reference = build_reference(clusters(400), "image", "vector", k=10)
    inside = reference.score(clusters(400, seed=1))
    assert ((inside >= 0) & (inside <= 1)).all()
    assert 0.35 < inside.mean() < 0.65, "events like the reference's land anywhere among them"
    assert 0.05 < (inside >= 0.9).float().mean() < 0.2, "about a tenth at or above the 90th percentile"
    far = reference.score(-reference.bank.mean(0, keepdim=True))  # opposite to where the world lies
    assert far.item() == 1.0


def test_the_reference_leaves_each_event_out():
    bank = clusters(60)
    reference = build_reference(bank, "audio", "vector", k=5)
    others = torch.cat([bank[:7], bank[8:]])
    alone = knn_typicality(bank[7:8] @ others.T, 5)
    assert torch.isclose(reference.typical, alone).any(), "event 7's typicality among the others, not itself"
    assert (reference.typical < 1 - 1e-4).all(), "no event counted its own similarity of 1"
    assert torch.all(reference.typical[1:] >= reference.typical[:-1]), "kept sorted"


def test_a_broken_embedding_counts_as_unlike_everything():
    reference = build_reference(clusters(50), "image", "vector", k=5)
    assert reference.score(torch.full((1, 16), float("nan"))).item() == 1.0


def test_too_few_events_are_refused():
    with pytest.raises(ValueError, match="too few"):
        build_reference(clusters(5), "image", "vector", k=10)


def test_words_follow_the_thresholds():
    somewhat, unlike = REGISTRY["image"].out_of_world
    assert 0 < somewhat <= unlike <= 1
    assert Verdict("image", "vector", 0.2).words == WORDS[0]
    assert Verdict("image", "vector", unlike).words == WORDS[2] and "treat the results with care" in WORDS[2]
    if somewhat < unlike:
        assert Verdict("image", "vector", somewhat).words == WORDS[1]
    line = Verdict("image", "vector", 0.5).markdown()
    assert "out-of-world score **0.50**" in line and "50% of held-out OmniShapes image events" in line


def test_space_is_the_preferred_one_or_a_pair_space():
    spaces = {"vector": 0, "stem": 0, "video-audio": 0, "video-text": 0}
    assert space_of(spaces, "vector") == "vector"
    assert space_of({"video-audio": 0, "vector": 0}, "coarse") == "video-audio", "disjoint: its own pair space"
    with pytest.raises(ValueError):
        space_of({"vector": 0}, "coarse")


def test_references_are_built_once_and_only_read_after(monkeypatch):
    built = []
    original = out_of_world.build_reference
    monkeypatch.setattr(out_of_world, "build_reference", lambda *a, **k: built.append(a[1]) or original(*a, **k))
    embeddings = {m: {"vector": clusters(80, seed=i), "coarse": clusters(80, dims=8, seed=9 + i)}
                  for i, m in enumerate(("image", "audio"))}
    familiar = OutOfWorld(embeddings)
    for _ in range(5):
        verdict = familiar.verdict("image", {"vector": clusters(1, seed=3)[0], "coarse": clusters(1, dims=8)[0]})
        assert verdict.space == DEFAULT_SPACE and 0 <= verdict.score <= 1
    assert sorted(built) == ["audio", "image"]
    assert "**image**" in familiar.markdown({"image": {"vector": clusters(1)}, "depth": {"vector": clusters(1)}}), \
        "modalities without a reference are left out, not an error"


# ------------------------------------------------------------------ the bundled model

@pytest.fixture(scope="module")
def bundled():
    from omnivec_core.train.checkpoint import load_model

    assert (BUNDLED / "config.json").is_file(), "the bundled model is missing"
    model, _ = load_model(BUNDLED, "cpu")
    # a gallery rendered now (not the cache beside the checkpoint), so held-out events and gallery share a renderer
    familiar = OutOfWorld(build_gallery(model, 200).embeddings)
    held = embed_batch(model, OmniShapes().render(100, seed=HELD_OUT_SEED))
    return model, familiar, held


def foreign_inputs(modalities) -> dict[str, dict[str, object]]:
    """Pure noise in every modality's input, and pages with no shape on them."""
    g = torch.Generator().manual_seed(0)
    noise = {"image": torch.rand(6, 3, 64, 64, generator=g), "depth": torch.rand(6, 1, 64, 64, generator=g),
             "video": torch.rand(6, 8, 3, 64, 64, generator=g), "imu": torch.randn(6, 100, 6, generator=g),
             "audio": torch.stack([readers.audio_to_model(0.3 * torch.randn(16000, generator=g)) for _ in range(6)]),
             "points": torch.nn.functional.normalize(torch.randn(6, 1024, 3, generator=g), dim=-1)}
    blank = {f"blank {name}": {"image": torch.full((2, 3, 64, 64), level), "depth": torch.full((2, 1, 64, 64), level)}
             for name, level in (("white", 1.0), ("grey", 0.5))}
    return {"noise": {m: x for m, x in noise.items() if m in modalities}, **blank}


@pytest.mark.model
@pytest.mark.timeout(900)
def test_noise_and_blank_pages_score_above_held_out_events(bundled):
    model, familiar, held = bundled
    typical = {m: familiar.scores(m, held[m][familiar.references[m].space]) for m in held}
    for m, scores in typical.items():
        assert ((scores >= 0) & (scores <= 1)).all(), m
        assert 0.25 < scores.mean() < 0.75, f"held-out {m} events should sit among the gallery's: {scores.mean():.2f}"
    for group, inputs in foreign_inputs(model.cfg.modalities).items():
        for m, x in inputs.items():
            scores = familiar.scores(m, embed_modality(model, m, x)[familiar.references[m].space])
            assert ((scores >= 0) & (scores <= 1)).all()
            assert scores.min() > typical[m].quantile(0.75), \
                f"{group} {m}: {scores.tolist()} against held-out median {typical[m].median():.2f}"
