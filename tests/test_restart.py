"""`train --init DIR --from-stage NAME`: a plan started at a late stage from a model the same plan trained
reaches the weights of the uninterrupted run; plans where that cannot hold are refused."""
from __future__ import annotations

import pytest
import torch

from omnivec_core.config import ExperimentConfig, StageConfig, preset
from omnivec_core.train.checkpoint import load_model
from omnivec_core.train.trainer import Trainer

ENCODER = ["stems", "meta", "backbone", "vectorizer", "embedding", "tasks", "decoder"]


def two_stage_plan(language_frozen=ENCODER) -> ExperimentConfig:
    config = preset("tiny")
    config.model.modalities = ("image", "video", "text")
    config.model.depth, config.model.text_encoder = 1, "scratch"
    config.model.text_decoder_depth = 1
    config.train.batch_size, config.train.warmup_steps = 8, 1
    config.train.eval_every = config.train.save_every = 10_000
    config.train.stages = [StageConfig("align", 3, {"mae": 1.0, "contrastive": 1.0}),
                           StageConfig("language", 3, {"captioning": 1.0, "matching": 1.0},
                                       frozen=list(language_frozen), schedule="own", lr=1e-3, warmup_steps=1)]
    return config


def weights(directory) -> dict[str, torch.Tensor]:
    return load_model(directory)[0].state_dict()


def test_starting_at_the_last_stage_reaches_the_uninterrupted_runs_weights(tmp_path):
    full = Trainer(two_stage_plan(), tmp_path / "full", "cpu").run()
    first = Trainer(two_stage_plan(), tmp_path / "first", "cpu").run(stop_after=3)
    restarted = Trainer(two_stage_plan(), tmp_path / "restarted", "cpu", init=first, from_stage="language")
    assert restarted.step == 3
    restarted.run()
    expected, got = weights(full), weights(tmp_path / "restarted")
    assert expected.keys() == got.keys()
    for name in expected:  # float-level: Adam turns a key bias's rounding-noise gradient into steps of ~1e-5
        torch.testing.assert_close(got[name], expected[name], rtol=1e-4, atol=1e-4, msg=name)
    language = [n for n in expected if n.startswith("language.")]
    assert any(not torch.equal(weights(first)[n], expected[n]) for n in language), "the language stage trained"


def test_a_model_whose_plan_trained_the_earlier_parts_again_is_refused(tmp_path):
    everything = two_stage_plan(language_frozen=[])
    everything.train.stages[1].objectives = {"captioning": 1.0, "mae": 1.0}
    model = Trainer(everything, tmp_path / "everything", "cpu").run(stop_after=4)
    with pytest.raises(ValueError, match="trained .* parameters again"):
        Trainer(everything, tmp_path / "again", "cpu", init=model, from_stage="language")


def test_different_earlier_stages_or_an_unknown_stage_are_refused(tmp_path):
    model = Trainer(two_stage_plan(), tmp_path / "first", "cpu").run(stop_after=3)
    changed = two_stage_plan()
    changed.train.stages[0].steps = 4
    with pytest.raises(ValueError, match="stages before it differ"):
        Trainer(changed, tmp_path / "changed", "cpu", init=model, from_stage="language")
    with pytest.raises(ValueError, match="not a stage of this plan"):
        Trainer(two_stage_plan(), tmp_path / "unknown", "cpu", init=model, from_stage="polish")
    with pytest.raises(ValueError, match="--init"):
        Trainer(two_stage_plan(), tmp_path / "no-init", "cpu", from_stage="language")
