"""The bundled model loads and beats chance by a wide margin on events it has never seen."""
from __future__ import annotations

from pathlib import Path

import torch

from omnivec_core.analysis.embeddings import embed_batch
from omnivec_core.data.omnishapes import OmniShapes
from omnivec_core.evaluation.held_out import linear_probe
from omnivec_core.evaluation.retrieval import recall_at
from omnivec_core.train.checkpoint import load_model

BUNDLED = Path(__file__).resolve().parents[1] / "checkpoints" / "omnivec-default"
UNSEEN_SEED = 987_654  # no training, evaluation, gallery or example seed
EVENTS = 200


def test_bundled_model_beats_chance_on_an_unseen_seed():
    assert (BUNDLED / "config.json").is_file(), "the bundled model is missing"
    model, config = load_model(BUNDLED)
    world = OmniShapes()
    test = world.render(EVENTS, seed=UNSEEN_SEED)
    fit = world.render(EVENTS, seed=UNSEEN_SEED + 1)
    embedded = embed_batch(model, test, ["video", "audio", "image"])
    space = model.embedding.pair_space("video", "audio")
    recall = recall_at(embedded["video"][space] @ embedded["audio"][space].t())
    assert recall["R@10"] > 6 * (10 / EVENTS), f"video->audio R@10 {recall['R@10']:.3f} is near chance"
    train_x = embed_batch(model, fit, ["image"])["image"]["vector"].numpy()
    accuracy = linear_probe(train_x, fit.labels["colour"].numpy(), embedded["image"]["vector"].numpy(),
                            test.labels["colour"].numpy())
    assert accuracy > 4 * (1 / 8), f"image colour probe {accuracy:.3f} is near chance (0.125)"
    assert torch.isfinite(embedded["video"][space]).all()
