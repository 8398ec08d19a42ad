"""UniVLC with a momentum encoder and queues: the queue's positives follow the labels, and it trains."""
from __future__ import annotations

import itertools

import pytest
import torch

from omnivec_core.config import StageConfig, preset
from omnivec_core.model import OmniVec
from omnivec_core.objectives.momentum import MOMENTUM, MomentumQueue, queued_positives, queued_univlc
from omnivec_core.train.trainer import Trainer

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def model():
    config = preset("tiny")
    config.model.modalities = ("video", "text")
    return OmniVec(config.model)


def fits(clip, named) -> bool:
    return all(n < 0 or c == n for c, n in zip(clip, named))


def test_queued_positives_are_exactly_what_the_labels_say(model):
    torch.manual_seed(0)
    queue = MomentumQueue(model, size=6, captions_per_clip=2)
    d = 8
    for _ in range(3):  # 3 pushes of 3 clips (6 kept) and 6 captions (12 kept)
        queue.push("clips", torch.randn(3, d), torch.randint(0, 3, (3, 5)))
        queue.push("captions", torch.randn(6, d), torch.randint(-1, 3, (6, 5)))
    clips, named = torch.randint(0, 3, (4, 5)), torch.randint(-1, 3, (5, 5))
    clip_positive, text_positive = queued_positives(clips, named, queue)
    all_named = torch.cat([named, queue.labels["captions"]])
    all_clips = torch.cat([clips, queue.labels["clips"]])
    assert clip_positive.shape == (4, 5 + 12) and text_positive.shape == (5, 4 + 6)
    for i, j in itertools.product(range(4), range(17)):
        assert clip_positive[i, j] == fits(clips[i].tolist(), all_named[j].tolist())
    for j, i in itertools.product(range(5), range(10)):
        assert text_positive[j, i] == fits(all_clips[i].tolist(), named[j].tolist())
    # a queued caption that names only a colour is a positive for every clip of that colour, and no other
    queue.labels["captions"][0] = torch.tensor([-1, 2, -1, -1, -1])
    clip_positive, _ = queued_positives(clips, named, queue)
    assert clip_positive[:, 5].tolist() == (clips[:, 1] == 2).tolist()


def test_the_queue_keeps_the_newest_and_forgets_the_oldest(model):
    queue = MomentumQueue(model, size=4, captions_per_clip=1)
    for step in range(3):
        queue.push("clips", torch.full((3, 2), float(step)), torch.full((3, 5), step))
    assert queue.keys["clips"][:, 0].tolist() == [2, 2, 2, 1] and queue.labels["clips"][:, 0].tolist() == [2, 2, 2, 1]


def test_the_momentum_encoder_follows_slowly(model):
    queue = MomentumQueue(model, size=4, captions_per_clip=1)
    before = [p.clone() for p in queue.encoder.parameters()]
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    queue.follow(model)
    for old, new in zip(before, queue.encoder.parameters()):
        assert torch.allclose(new, old + (1 - MOMENTUM), atol=1e-5)
    assert not any(p.requires_grad for p in queue.encoder.parameters())
    with torch.no_grad():
        for p in model.parameters():
            p.sub_(1.0)


def test_the_queue_changes_the_loss_only_through_queued_keys(model):
    torch.manual_seed(1)
    queue = MomentumQueue(model, size=4, captions_per_clip=1)
    clips, captions = torch.nn.functional.normalize(torch.randn(3, 8), dim=1), torch.nn.functional.normalize(
        torch.randn(3, 8), dim=1)
    labels, named = torch.arange(3)[:, None].expand(3, 5), torch.arange(3)[:, None].expand(3, 5)
    empty = queued_univlc(clips, captions, labels, named, queue, 0.07)
    from omnivec_core.objectives.losses import univlc
    assert torch.allclose(empty, univlc(clips, captions, torch.eye(3, dtype=torch.bool), 0.07)), "empty: in-batch"
    queue.push("clips", torch.nn.functional.normalize(torch.randn(4, 8), dim=1), torch.full((4, 5), 7))
    queue.push("captions", torch.nn.functional.normalize(torch.randn(4, 8), dim=1), torch.full((4, 5), 7))
    assert queued_univlc(clips, captions, labels, named, queue, 0.07) > empty, "more negatives, higher loss"


def test_training_with_a_momentum_queue_fills_it(tmp_path):
    config = preset("tiny")
    config.train.batch_size, config.train.momentum_queue = 4, 6
    config.train.stages = [StageConfig("align", 3, {"contrastive": 1.0})]
    trainer = Trainer(config, tmp_path / "run", "cpu")
    trainer.run()
    assert len(trainer.momentum.keys["clips"]) == 6 and len(trainer.momentum.keys["captions"]) == 18
    assert torch.isfinite(trainer.momentum.keys["captions"]).all()
