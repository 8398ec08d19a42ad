"""OmniMAE's sample replication (StageConfig.replicas) and the OmniMAE masking preset."""
from __future__ import annotations

import pytest
import torch

from omnivec_core.config import ExperimentConfig, StageConfig, TrainConfig, preset
from omnivec_core.data.omnishapes import OmniShapes
from omnivec_core.modalities import REGISTRY
from omnivec_core.objectives.plan import lent_rows, mae_objective
from omnivec_core.train.trainer import Trainer

pytestmark = pytest.mark.model  # builds and trains models

COPIES = 4


def replicated_trainer(tmp_path, batch: int = 16, mixing: bool = True) -> Trainer:
    config = preset("tiny")
    config.model.depth, config.model.modalities = 2, ("image", "video", "text")
    config.train.batch_size, config.train.warmup_steps = batch, 1
    config.train.stages = [StageConfig("pretrain", 2, {"mae": 1.0}, replicas=COPIES, modality_mixing=mixing)]
    return Trainer(config, tmp_path, "cpu")


def copies_of(x: torch.Tensor) -> torch.Tensor:
    """(B*COPIES, ...) -> (B, COPIES, ...): each event's copies side by side."""
    return x.unflatten(0, (-1, COPIES))


def test_a_replicated_batch_keeps_its_size_and_repeats_each_event(tmp_path):
    trainer = replicated_trainer(tmp_path)
    stage = trainer.config.train.stages[0]
    batch = trainer.render_batch(3, stage)
    assert len(batch) == 16 and batch.index.unique().numel() == 16 // COPIES
    for name, values in (("index", batch.index), ("image", batch["image"]), ("video", batch["video"])):
        grouped = copies_of(values)
        assert torch.equal(grouped, grouped[:, :1].expand_as(grouped)), name  # identical inputs across copies
    for values in (*batch.labels.values(), *batch.params.values()):
        assert torch.equal(copies_of(values), copies_of(values)[:, :1].expand_as(copies_of(values)))
    assert "text" not in batch  # a stage of MAE alone renders no captions; where rendered, they repeat too
    captions = OmniShapes().render(2, seed=0, modalities=("text",)).repeated(COPIES)["text"]
    assert all(captions[i] == captions[i - i % COPIES] for i in range(2 * COPIES)) and captions[0] != captions[-1]
    # the step's stream positions do not depend on replicas: the events are the first of its batch_size
    assert batch.index[::COPIES].tolist() == list(range(3 * 16, 3 * 16 + 16 // COPIES))


@pytest.mark.parametrize("mixing", [True, False])
def test_copies_of_an_event_meet_the_same_modality_under_independent_masks(tmp_path, monkeypatch, mixing):
    trainer = replicated_trainer(tmp_path, mixing=mixing)
    stage, model = trainer.config.train.stages[0], trainer.model
    seen = {}

    def spy(inputs, *args, **kwargs):
        encoded = encode_many(inputs, *args, **kwargs)
        seen.update({m: (inputs[m], encoded[m].masking.mask) for m in inputs})
        return encoded

    encode_many = model.encode_many
    monkeypatch.setattr(model, "encode_many", spy)
    losses = mae_objective(model, trainer.render_batch(0, stage), trainer.config.train, stage, 0, {})
    assert set(losses) == {"mae/image", "mae/video"} and set(seen) == {"image", "video"}
    for modality, (x, mask) in seen.items():
        assert len(x) % COPIES == 0
        assert torch.equal(copies_of(x), copies_of(x)[:, :1].expand_as(copies_of(x))), modality  # one sample
        for event in copies_of(mask):                                                    # (COPIES, N) masks
            assert len({tuple(row.tolist()) for row in event}) == COPIES, modality      # each copy its own
            assert (event.sum(1) == event[0].sum()).all()                                 # at the same ratio


def test_every_modality_is_lent_some_of_few_replicated_events_and_unreplicated_splits_are_as_before():
    names = ["image", "video", "audio", "depth", "points", "imu"]
    rows = lent_rows(names, 32, StageConfig("a", 1, {"mae": 1.0}, replicas=COPIES), seed=3)  # 8 events for 6
    assert all(len(r) > 0 and len(r) % COPIES == 0 for r in rows.values())
    assert sorted(torch.cat(list(rows.values())).tolist()) == list(range(32))
    assert all(torch.equal(copies_of(r), copies_of(r)[:, :1] + torch.arange(COPIES)) for r in rows.values())
    plain = lent_rows(names, 32, StageConfig("a", 1, {"mae": 1.0}), seed=3)
    before = torch.randperm(32, generator=torch.Generator().manual_seed(3)).chunk(len(names))
    assert all(torch.equal(plain[m], part) for m, part in zip(names, before))


def test_a_replicated_step_trains(tmp_path):
    trainer = replicated_trainer(tmp_path, batch=8)
    loss, named = trainer.train_step(0)
    assert torch.isfinite(loss) and set(named) == {"mae/image", "mae/video"}


@pytest.mark.parametrize("build, message", [
    (lambda: StageConfig("a", 1, {"mae": 1.0}, replicas=0), "stage 'a': replicas must be >= 1, got 0"),
    (lambda: StageConfig("a", 1, {"mae": 1.0, "contrastive": 1.0}, replicas=2),
     r"objectives \['contrastive'\] would take a copy for a negative of itself"),
    (lambda: TrainConfig(batch_size=30, stages=[StageConfig("a", 1, {"mae": 1.0}, replicas=4)]),
     "stage 'a': replicas 4 must divide batch_size 30"),
    (lambda: TrainConfig(mask_type={"video": "causal"}, stages=[StageConfig("a", 1, {"mae": 1.0}, replicas=2)]),
     r"mask_type 'causal' of \['video'\] hides the same tokens in every copy")])
def test_replicas_are_checked(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_too_few_distinct_events_for_the_mixed_modalities_are_refused(tmp_path):
    trainer = replicated_trainer(tmp_path, batch=COPIES)  # one event, two modalities to lend it to
    stage = trainer.config.train.stages[0]
    with pytest.raises(ValueError, match="1 distinct events a step leave some of the 2 modalities"):
        mae_objective(trainer.model, trainer.render_batch(0, stage), trainer.config.train, stage, 0, {})


def test_replicas_round_trip_and_default_to_one():
    config = preset("tiny")
    config.train.stages[0].replicas = 4
    assert ExperimentConfig.from_dict(config.to_dict()).train.stages[0].replicas == 4
    assert all(stage.replicas == 1 for stage in preset("tiny").train.stages)


def test_the_omnimae_preset_is_the_tiny_plan_under_omnimae_masking():
    omnimae, tiny = preset("omnimae"), preset("tiny")
    assert (omnimae.train.mask_ratio["image"], omnimae.train.mask_ratio["video"]) == (0.9, 0.95)
    assert (tiny.train.mask_ratio["image"], tiny.train.mask_ratio["video"]) == (REGISTRY["image"].mask_ratio,
                                                                                REGISTRY["video"].mask_ratio)
    omnimae.train.mask_ratio, omnimae.preset = tiny.train.mask_ratio, tiny.preset
    assert omnimae == tiny  # nothing else differs, so a comparison of the two measures the ratios
