"""Training, checkpoints, data parallelism and evaluation on tiny runs."""
from __future__ import annotations

import json
import math
import os
import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from omnivec_core.config import ExperimentConfig, StageConfig, preset
from omnivec_core.constants import FORMAT_VERSION, MIN_LR
from omnivec_core.data.omnishapes import ATTRIBUTES, OmniShapes, parse_caption
from omnivec_core.evaluation.held_out import evaluate
from omnivec_core.modalities import REGISTRY
from omnivec_core.model import MAEOutput, OmniVec
from omnivec_core.objectives.encodings import caption_agreement
from omnivec_core.objectives.losses import classification_loss, mae_loss, mean_of_visible, mil_nce, nce, univlc
from omnivec_core.objectives.plan import pairs_objective, task_objective
from omnivec_core.train import checkpoint
from omnivec_core.train.checkpoint import CheckpointError, load_model
from omnivec_core.train.trainer import STOP_FILE, Trainer, learning_rate


def tiny_config(steps: int, objectives: dict[str, float], batch: int = 8) -> ExperimentConfig:
    config = preset("tiny")
    config.model.depth = 2
    config.train.batch_size = batch
    config.train.warmup_steps = 2
    config.train.eval_every = 10_000
    config.train.save_every = 10_000
    config.train.stages = [StageConfig("test", steps, objectives)]
    return config


@pytest.mark.parametrize("schedule", ["continue", "own"])
def test_learning_rate_schedules(schedule):
    train = preset("tiny").train
    train.warmup_steps, train.lr = 10, 1.0
    train.stages = [StageConfig("a", 100, {"mae": 1.0}, schedule=schedule),
                    StageConfig("b", 50, {"mae": 1.0}, schedule=schedule)]
    rates = [learning_rate(step, train) for step in range(150)]
    assert rates[0] == pytest.approx(0.1) and rates[9] == pytest.approx(1.0)
    assert rates[149] < 0.01  # both end at MIN_LR
    if schedule == "own":
        assert rates[99] < 0.01  # stage a decays fully
        assert rates[100] == pytest.approx(0.1) and rates[109] == pytest.approx(1.0)  # stage b warms up again
    else:
        assert rates[99] > 0.2
        assert all(a >= b for a, b in zip(rates[9:], rates[10:]))  # one decay over the whole plan


def losses(path) -> list[dict]:
    return [json.loads(line) for line in open(path / "metrics.jsonl") if '"loss"' in line]


@pytest.mark.parametrize("objective,key,relative", [("mae", "mae/image", False), ("mae", "mae/image", True),
                                                    ("contrastive", "nce/video-audio", False),
                                                    ("pairs", "nce/image-depth", False),
                                                    ("tasks", "cls/video", False)])
def test_short_runs_lower_their_losses(tmp_path, objective, key, relative):
    config = tiny_config(30, {objective: 1.0}, batch=16)
    config.train.stages[0].mae_relative = relative
    config.train.task_grouping = False
    config.train.droptoken, config.train.univlc = {}, False  # the plain objective, nothing stochastic on top
    config.train.lr = 2e-3
    Trainer(config, tmp_path, "cpu", log_every=4).run()
    records = losses(tmp_path)
    first, last = records[0][key], records[-1][key]
    assert last < 0.9 * first, f"{key} went from {first:.3f} to {last:.3f}"


def test_logs_average_every_loss_of_alternating_task_groups(tmp_path):
    config = tiny_config(4, {"tasks": 1.0})
    config.train.task_grouping = True  # even steps classify, odd steps segment
    Trainer(config, tmp_path, "cpu", log_every=4).run()
    (record,) = losses(tmp_path)
    assert {"cls/video", "cls/text", "seg/image", "seg/points"} <= set(record)


def test_resume_equals_an_uninterrupted_run(tmp_path):
    config = tiny_config(6, {"mae": 1.0, "contrastive": 1.0})
    Trainer(config, tmp_path / "straight", "cpu").run()
    Trainer(config, tmp_path / "split", "cpu").run(stop_after=3)
    assert json.load(open(tmp_path / "split" / "train_state.json"))["step"] == 3
    Trainer(config, tmp_path / "split", "cpu", resume=True).run()
    straight, _ = load_model(tmp_path / "straight")
    split, _ = load_model(tmp_path / "split")
    for (name, a), b in zip(straight.trainable_state_dict().items(), split.trainable_state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6), f"{name} differs after resume"


def test_a_stop_file_saves_at_the_end_of_the_step_and_a_resume_goes_on(tmp_path):
    config = tiny_config(6, {"mae": 1.0})
    trainer = Trainer(config, tmp_path, "cpu")
    take_step = trainer.train_step

    def step_then_ask_to_stop(step):
        result = take_step(step)
        if step == 2:
            (tmp_path / STOP_FILE).touch()  # what the app's Stop writes, mid-run
        return result

    trainer.train_step = step_then_ask_to_stop
    trainer.run()
    assert json.load(open(tmp_path / "train_state.json"))["step"] == 3
    assert not (tmp_path / STOP_FILE).exists(), "a consumed request would stop the resumed run at once"
    (tmp_path / STOP_FILE).touch()  # asked before the run starts: it stops before its first step
    Trainer(config, tmp_path, "cpu", resume=True).run()
    assert json.load(open(tmp_path / "train_state.json"))["step"] == 3
    Trainer(config, tmp_path, "cpu", resume=True).run()
    assert json.load(open(tmp_path / "train_state.json"))["step"] == 6


def test_a_save_killed_midway_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    config = tiny_config(2, {"mae": 1.0})
    trainer = Trainer(config, tmp_path, "cpu")
    trainer.run()
    before = load_model(tmp_path)[0].trainable_state_dict()

    def dies_while_writing(tensors, filename, metadata=None):
        with open(filename, "wb") as handle:
            handle.write(b"half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint, "save_file", dies_while_writing)
    with torch.no_grad():
        for p in trainer.model.parameters():
            p.add_(1.0)
    with pytest.raises(KeyboardInterrupt):
        trainer.save(99)
    after = load_model(tmp_path)[0].trainable_state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")], "temp files were left behind"


def test_loading_refuses_config_and_weights_that_disagree(tmp_path):
    Trainer(tiny_config(1, {"mae": 1.0}), tmp_path, "cpu").run()
    data = json.load(open(tmp_path / "config.json"))
    data["model"]["width"] = 96
    (tmp_path / "config.json").write_text(json.dumps(data))
    with pytest.raises(CheckpointError, match="disagree"):
        load_model(tmp_path)


@pytest.mark.parametrize("section, bad, message", [
    ("stage", {"sibling_events": 0}, "stage 'shapes': sibling_events must be >= 1"),
    ("train", {"droptoken": {"video": 1.0}}, "rate for 'video'"),
    ("train", {"mask_ratio": {"image": -0.1}}, "rate for 'image'"),
    ("train", {"mask_type": {"image": "checkers"}}, r"mask_type\['image'\]"),
    ("stage", {"mae_weights": {"text": 2.0}}, "stage 'shapes': mae_weights names 'text', which has no reconstruction"),
    ("stage", {"mae_weights": {"image": float("nan")}}, r"mae_weights\['image'\]"),
    ("stage", {"lr": 0.0}, "stage 'shapes': lr must be > 0"),
    ("train", {"attribute_weights": {"hue": 2.0}}, "attributes are"),
    ("train", {"attribute_weights": {"shape": -1.0}}, r"attribute_weights\['shape'\]"),
    ("train", {"negative_captions": 6}, "one per attribute"),
    ("train", {"captions_per_event": 0}, "captions_per_event must be 1..10"),
    ("train", {"captions_per_event": 11}, "captions_per_event must be 1..10")])
def test_train_config_rejects_bad_values(section, bad, message):
    data = preset("tiny").to_dict()
    (data["train"] if section == "train" else data["train"]["stages"][1]).update(bad)
    with pytest.raises(ValueError, match=message):
        ExperimentConfig.from_dict(data)


@pytest.mark.parametrize("captions", [1, 5])
def test_captions_per_clip_set_how_many_captions_each_training_clip_has(tmp_path, captions):
    config = tiny_config(1, {"contrastive": 1.0})
    config.train.captions_per_event = captions
    trainer = Trainer(config, tmp_path, "cpu")
    batch = trainer.render_batch(0, config.train.stages[0])
    assert {len(row) for row in batch["text"]} == {captions}
    assert all(len(set(row)) == captions for row in batch["text"]), "each from its own template"


def test_mae_weights_make_a_weighted_mean_of_the_modalities(monkeypatch):
    from omnivec_core.objectives import plan
    monkeypatch.setitem(plan.OBJECTIVES, "mae", lambda *args: {"mae/image": torch.tensor(1.0),
                                                                "mae/audio": torch.tensor(3.0)})
    train, stage = preset("tiny").train, StageConfig("a", 1, {"mae": 2.0})
    assert plan.stage_losses(None, None, train, stage, 0)[0].item() == pytest.approx(2 * 2.0)
    stage.mae_weights = {"image": 3.0}
    total, named = plan.stage_losses(None, None, train, stage, 0)
    assert total.item() == pytest.approx(2 * (3 * 1.0 + 3.0) / 4) and named["mae/image"].item() == 1.0


def test_a_zero_mae_weight_leaves_the_modality_out_of_rendering_and_loss():
    from omnivec_core.objectives.plan import stage_modalities
    modalities = tiny_config(1, {"mae": 1.0}).model.modalities
    weights = {m: 0.0 for m, spec in REGISTRY.items() if spec.reconstruct and m != "image"}
    assert stage_modalities(modalities, StageConfig("a", 1, {"mae": 1.0}, mae_weights=weights)) == ("image",)
    assert stage_modalities(modalities, StageConfig("a", 1, {"mae": 1.0, "tasks": 1.0}, mae_weights=weights)
                            ) == modalities
    with pytest.raises(ValueError, match="stage 'a': mae_weights .* leave no modality for the MAE objective"):
        stage_modalities(modalities, StageConfig("a", 1, {"mae": 1.0}, mae_weights={**weights, "image": 0.0}))


def test_one_modality_trains_its_own_decoder_and_nothing_else(tmp_path):
    config = tiny_config(2, {"mae": 1.0})
    config.model.separate_decoders = True
    config.train.stages[0].frozen = ["stems", "meta", "backbone", "vectorizer", "embedding", "tasks",
                                     "decoder.mask_token"]
    config.train.stages[0].mae_weights = {m: 0.0 for m, spec in REGISTRY.items() if spec.reconstruct and m != "image"}
    trainer = Trainer(config, tmp_path, "cpu")
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    rendered, render = [], trainer.world.render
    trainer.world.render = lambda *args, **kwargs: rendered.append(render(*args, **kwargs)) or rendered[-1]
    trainer.run()
    steps = [b for b in rendered if len(b) == config.train.batch_size]  # not the final quick evaluation's
    assert len(steps) == 2 and all("video" not in b and "audio" not in b and "image" in b for b in steps)
    changed = {k for k, v in trainer.model.state_dict().items() if not torch.equal(before[k], v)}
    assert changed and all(".image" in k for k in changed), sorted(changed)


def test_a_stage_trains_only_the_modalities_it_names(tmp_path):
    config = tiny_config(2, {"tasks": 1.0, "contrastive": 1.0})
    config.train.stages[0].modalities = ["video", "image"]
    config.train.task_grouping = False
    trainer = Trainer(config, tmp_path, "cpu")
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    rendered, render = [], trainer.world.render
    trainer.world.render = lambda *args, **kwargs: rendered.append(render(*args, **kwargs)) or rendered[-1]
    trainer.run()
    steps = [b for b in rendered if len(b) == config.train.batch_size]
    assert len(steps) == 2 and all("audio" not in b and "text" not in b and "points" not in b for b in steps)
    logged = {k for record in losses(tmp_path) for k in record if "/" in k}
    assert logged == {"cls/video", "cls/image", "seg/image", "nce/video-image"}
    changed = {k.split(".")[0] + "." + k.split(".")[1] for k, v in trainer.model.state_dict().items()
               if not torch.equal(before[k], v)}
    assert "stems.visual" in changed and "stems.audio" not in changed and "stems.points" not in changed


def test_stages_naming_modalities_are_checked_before_training(tmp_path):
    with pytest.raises(ValueError, match="unknown modalities"):
        StageConfig("a", 1, {"tasks": 1.0}, ["smell"])
    config = tiny_config(1, {"tasks": 1.0})
    config.model.modalities = ("image", "text")
    config.train.stages[0].modalities = ["video"]
    with pytest.raises(ValueError, match="none of which the model has"):
        Trainer(config, tmp_path, "cpu")
    config = tiny_config(1, {"contrastive": 1.0})
    config.train.stages[0].modalities = ["video"]
    with pytest.raises(ValueError, match="'test': the contrastive objective needs a signal modality and one more"):
        Trainer(config, tmp_path, "cpu")


def test_pairs_contrast_every_two_signal_modalities_but_the_anchor(tmp_path):
    config = tiny_config(1, {"pairs": 1.0})
    config.model.modalities = ("image", "video", "audio", "text", "depth")
    trainer = Trainer(config, tmp_path, "cpu")
    named = pairs_objective(trainer.model, trainer.world.render(4, seed=1), config.train, config.train.stages[0], 0, {})
    assert set(named) == {"nce/image-audio", "nce/image-depth", "nce/audio-depth"}  # video pairs: contrastive's
    assert all(torch.isfinite(loss) and loss > 0 for loss in named.values())
    config.model.embed_space, config.model.time_profile = "disjoint", "none"
    with pytest.raises(ValueError, match="'test': the pairs objective .* disjoint spaces pair each modality with video"):
        Trainer(config, tmp_path / "disjoint", "cpu")
    config = tiny_config(1, {"pairs": 1.0})
    config.train.stages[0].modalities = ["video", "audio", "text"]
    with pytest.raises(ValueError, match=r"other than the anchor \(video\) with each other; the stage has only"):
        Trainer(config, tmp_path / "one", "cpu")


def test_attribute_weights_make_a_weighted_mean_of_the_attributes():
    logits = {"shape": torch.tensor([[2.0, 0.0]]), "size": torch.tensor([[0.0, 1.0]])}
    labels = {"shape": torch.tensor([1]), "size": torch.tensor([1])}
    shape, size = (torch.nn.functional.cross_entropy(logits[a], labels[a]).item() for a in ("shape", "size"))
    assert classification_loss(logits, labels).item() == pytest.approx((shape + size) / 2)
    assert classification_loss(logits, labels, {"shape": 3.0}).item() == pytest.approx((3 * shape + size) / 4)


def test_training_batches_come_in_sibling_runs(tmp_path):
    config = tiny_config(2, {"contrastive": 1.0, "tasks": 1.0})
    config.train.stages[0].sibling_events = 4
    trainer = Trainer(config, tmp_path, "cpu")
    rendered, render = [], trainer.world.render
    trainer.world.render = lambda *args, **kwargs: rendered.append(render(*args, **kwargs)) or rendered[-1]
    trainer.run()
    shapes = [batch.labels["shape"] for batch in rendered if len(batch) == config.train.batch_size]
    assert len(shapes) == 2 and all((s.view(-1, 4) == s.view(-1, 4)[:, :1]).all() for s in shapes)
    assert all(torch.isfinite(torch.tensor(json.loads(line)["loss"])) for line in open(tmp_path / "metrics.jsonl")
               if '"loss"' in line)


def test_init_starts_the_plan_from_another_models_weights(tmp_path):
    plain = tiny_config(1, {"mae": 1.0})
    plain.model.time_profile = "none"
    Trainer(plain, tmp_path / "first", "cpu").run()
    first = load_model(tmp_path / "first")[0].trainable_state_dict()
    config = tiny_config(1, {"contrastive": 1.0})
    config.model.time_profile = "none"
    config.train.seed = 5  # another initialisation, which init must replace
    trainer = Trainer(config, tmp_path / "second", "cpu", init=tmp_path / "first")
    assert trainer.step == 0
    assert all(torch.equal(first[k], v) for k, v in trainer.model.trainable_state_dict().items())
    config.model.time_profile = "fine_and_coarse"  # adds the time heads, which start at zero
    grown = Trainer(config, tmp_path / "grown", "cpu", init=tmp_path / "first")
    assert all(torch.equal(first[k], v) for k, v in grown.model.trainable_state_dict().items() if k in first)
    logged = json.loads((tmp_path / "grown" / "metrics.jsonl").read_text().splitlines()[0])
    assert logged["fresh"] and all(name.startswith("embedding.time_heads.") for name in logged["fresh"])
    config.model.width = 96
    with pytest.raises(ValueError, match="tensors do not fit this config's model"):
        Trainer(config, tmp_path / "third", "cpu", init=tmp_path / "first")


def test_frozen_parts_keep_their_weights_and_statistics(tmp_path):
    Trainer(tiny_config(2, {"contrastive": 1.0}), tmp_path / "first", "cpu").run()
    first = load_model(tmp_path / "first")[0].state_dict()
    config = tiny_config(3, {"mae": 1.0})
    config.train.stages[0].frozen = ["stems", "meta", "backbone", "vectorizer", "embedding", "tasks"]
    trainer = Trainer(config, tmp_path / "decoder", "cpu", init=tmp_path / "first")
    assert not trainer.model.backbone.training and trainer.model.decoder.training
    trainer.run()
    after = load_model(tmp_path / "decoder")[0].state_dict()
    changed = {k.split(".")[0] for k in first if not torch.equal(first[k], after[k])}
    assert changed == {"decoder"}  # weights and the embedding heads' batch-norm statistics alike


def test_init_copies_a_shared_decoder_into_separate_ones(tmp_path):
    Trainer(tiny_config(1, {"mae": 1.0}), tmp_path / "shared", "cpu").run()
    shared = load_model(tmp_path / "shared")[0]
    config = tiny_config(2, {"mae": 1.0})
    config.model.separate_decoders = True
    config.train.stages[0].frozen = ["stems", "meta", "backbone", "vectorizer", "embedding", "tasks"]
    trainer = Trainer(config, tmp_path / "separate", "cpu", init=tmp_path / "shared")
    logged = json.loads((tmp_path / "separate" / "metrics.jsonl").read_text().splitlines()[0])
    assert logged["fresh"] == []
    batch = trainer.world.render(4, seed=9)
    for modality in ("image", "audio", "points"):  # same predictions before training: a faithful copy
        x = REGISTRY[modality].batch_input(batch)
        expected = shared.reconstruct(shared.encode(modality, x, 0.75, generator=torch.Generator().manual_seed(0),
                                                    for_mae=True), x).prediction
        separate = trainer.model.eval()
        got = separate.reconstruct(separate.encode(modality, x, 0.75, generator=torch.Generator().manual_seed(0),
                                                   for_mae=True), x).prediction
        assert torch.allclose(expected, got, atol=1e-5)
    trainer.run()
    after = load_model(tmp_path / "separate")[0].decoder
    image, audio = after.blocks["image"][0].mlp.fc1.weight, after.blocks["audio"][0].mlp.fc1.weight
    assert not torch.equal(image, audio)  # copies that then learned apart


@pytest.mark.parametrize("frozen, objectives, message", [
    (["backbone.nowhere"], {"mae": 1.0}, "not a part of this model"),
    (["stems", "meta", "backbone", "vectorizer", "embedding", "tasks", "decoder"], {"mae": 1.0}, "nothing to train"),
    (["decoder"], {"mae": 1.0}, None),
    (["stems", "meta", "backbone", "vectorizer", "embedding", "tasks"], {"contrastive": 1.0}, "only frozen parts"),
])
def test_frozen_parts_are_checked(tmp_path, frozen, objectives, message):
    config = tiny_config(1, objectives)
    config.train.stages[0].frozen = frozen
    if message is None:  # the encoder still learns from MAE behind a frozen decoder
        Trainer(config, tmp_path, "cpu").run()
        return
    with pytest.raises(ValueError, match=message):
        Trainer(config, tmp_path, "cpu").run()

ENCODER = ["stems", "meta", "backbone", "vectorizer", "embedding", "tasks"]


def four_stage_plan() -> ExperimentConfig:
    """A short plan whose stages hold different parts, weigh MAE differently and schedule on their own."""
    config = tiny_config(1, {"mae": 1.0})
    config.train.lr, config.train.warmup_steps = 2e-3, 2
    only_image = {m: float(m == "image") for m, spec in REGISTRY.items() if spec.reconstruct}
    config.train.stages = [
        StageConfig("warm", 3, {"mae": 1.0}, frozen=["embedding.time_heads"], lr=1e-3, warmup_steps=2),
        StageConfig("align", 3, {"contrastive": 1.0, "mae": 0.5}, mae_weights={"image": 2.0}),
        StageConfig("decoder", 3, {"mae": 1.0}, frozen=ENCODER, mae_weights=only_image, mae_relative=True,
                    modality_mixing=False, schedule="own", lr=5e-4, warmup_steps=1),
        StageConfig("tasks", 3, {"tasks": 1.0}, ["image", "text"], frozen=["decoder"], schedule="own"),
    ]
    return config


def cosine(peak: float, warmup: int, length: int, floor: float) -> list[float]:
    """The rates of one warmup + cosine schedule, written out independently of the trainer."""
    return [peak * (i + 1) / warmup if i < warmup else
            floor + 0.5 * (peak - floor) * (1 + math.cos(math.pi * (i - warmup) / max(1, length - warmup)))
            for i in range(length)]


def state(directory) -> dict[str, torch.Tensor]:
    return load_model(directory)[0].state_dict()


def test_a_plan_runs_each_stage_with_its_own_parts_weights_and_schedule(tmp_path):
    config = four_stage_plan()
    straight = Trainer(config, tmp_path / "straight", "cpu", log_every=1)
    rates, step = [], straight.optimizer.step
    straight.optimizer.step = lambda: rates.append(straight.optimizer.param_groups[0]["lr"]) or step()
    straight.run()
    floor = MIN_LR  # warm + align share one schedule; decoder and tasks start their own
    expected = cosine(1e-3, 2, 6, floor) + cosine(5e-4, 1, 3, floor) + cosine(2e-3, 1, 3, floor)
    assert rates == pytest.approx(expected, rel=1e-12)
    saved = json.loads((tmp_path / "straight" / "config.json").read_text())
    assert saved["format_version"] == FORMAT_VERSION and saved["train"]["stages"][2]["frozen"] == ENCODER
    assert ExperimentConfig.load(tmp_path / "straight" / "config.json") == config
    mae = {}  # the MAE losses each stage logged, over all its steps
    for record in losses(tmp_path / "straight"):
        mae.setdefault(record["stage"], set()).update(k for k in record if k.startswith("mae/"))
    assert mae["decoder"] == {"mae/image"} and {"mae/image", "mae/video", "mae/audio"} <= mae["align"]

    split = tmp_path / "split"  # the same plan stopped and resumed at every stage boundary
    first = Trainer(config, split, "cpu")
    initial = {k: v.clone() for k, v in first.model.state_dict().items()}
    first.run(stop_after=3)
    checkpoints = [state(split)]
    for stop in (6, 9, None):
        Trainer(config, split, "cpu", resume=True).run(stop_after=stop)
        checkpoints.append(state(split))
    warm, align, decoder, tasks = checkpoints
    timed = [k for k in initial if k.startswith("embedding.time_heads.")]
    assert timed and all(torch.equal(initial[k], warm[k]) for k in timed)  # held in "warm" only
    assert not all(torch.equal(warm[k], align[k]) for k in timed)
    changed = {k.split(".")[0] for k in align if not torch.equal(align[k], decoder[k])}
    assert changed == {"decoder"}  # every other tensor, batch-norm statistics included, bit for bit
    changed = {k.split(".")[0] for k in decoder if not torch.equal(decoder[k], tasks[k])}
    assert "decoder" not in changed and {"tasks", "backbone"} <= changed
    for name, value in state(tmp_path / "straight").items():
        assert torch.allclose(value.float(), tasks[name].float(), atol=1e-6), f"{name} differs after resuming"


def test_loading_refuses_damaged_files(tmp_path):
    Trainer(tiny_config(1, {"mae": 1.0}), tmp_path, "cpu").run()
    (tmp_path / "model.safetensors").write_bytes(b"\x00" * 100)
    with pytest.raises(CheckpointError, match="damaged"):
        load_model(tmp_path)
    with pytest.raises(CheckpointError, match="not a model directory"):
        load_model(tmp_path / "nowhere")


def _replica(rank: int, world: int, port: int, out: str, results) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    trainer = Trainer(tiny_config(3, {"mae": 1.0, "contrastive": 1.0}, batch=4), out, "cpu")
    trainer.run()
    results[rank] = torch.cat([p.detach().flatten() for p in trainer.model.parameters() if p.requires_grad])
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()


def test_two_process_data_parallel_keeps_replicas_identical(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    results = mp.Manager().dict()
    mp.spawn(_replica, args=(2, port, str(tmp_path), results), nprocs=2, join=True)
    assert torch.equal(results[0], results[1]), "replicas diverged"
    solo = Trainer(tiny_config(3, {"mae": 1.0}, batch=4), tmp_path / "solo", "cpu")
    initial = torch.cat([p.detach().flatten() for p in solo.model.parameters() if p.requires_grad])
    assert not torch.equal(initial, results[0]), "training changed nothing"


def test_evaluate_reports_every_metric_in_range(tmp_path):
    config = tiny_config(4, {"mae": 1.0, "contrastive": 1.0})
    Trainer(config, tmp_path, "cpu").run()
    model, config = load_model(tmp_path)
    report = evaluate(model, config, seed=777, n=48, device="cpu")
    assert set(report["linear_probe"]) == set(config.model.modalities)
    for scores in report["linear_probe"].values():
        assert all(0.0 <= v <= 1.0 for v in scores.values())
    assert "video->audio" in report["retrieval"] and "text->video" in report["attribute_precision"]
    for s in report["retrieval"].values():
        assert 0 <= s["R@1"] <= s["R@5"] <= s["R@10"] <= 1 and 1 <= s["median_rank"] <= 48
    for by_ratio in report["reconstruction"].values():
        for s in by_ratio.values():
            assert all(v == v and abs(v) < 1e3 for v in s.values())


def test_caption_agreement_marks_the_clips_each_caption_truly_describes():
    batch = OmniShapes().render(48, seed=5, modalities=("text",))
    captions = [c for row in batch["text"] for c in row]
    agree = caption_agreement(batch.labels, captions)
    assert agree.shape == (48, len(captions))
    for i in range(48):
        for c, caption in enumerate(captions):
            says = parse_caption(caption)
            assert agree[i, c] == all(ATTRIBUTES[a][batch.labels[a][i]] == v for a, v in says.items())
    assert agree[torch.arange(48), torch.arange(48) * len(batch["text"][0])].all()  # its own captions
    assert 0 < agree.float().mean() < 0.1


def test_univlc_with_only_the_paired_rows_positive_is_nce():
    a, b = (torch.nn.functional.normalize(torch.randn(16, 8), dim=-1) for _ in range(2))
    assert torch.allclose(univlc(a, b, torch.eye(16, dtype=torch.bool), 0.1), nce(a, b, 0.1))


def test_text_classification_reads_every_caption_of_an_event():
    config = preset("tiny")
    model = OmniVec(config.model).eval()
    batch = OmniShapes().render(4, seed=9, modalities=("text",))
    with torch.no_grad():
        loss = task_objective(model, batch, config.train, config.train.stages[-1], 0, {})["cls/text"]
        captions = [c for row in batch["text"] for c in row]
        logits = model.tasks.classification(model.encode("text", captions).vector)
        observed = REGISTRY["text"].observes
        labels = {k: v.repeat_interleave(len(batch["text"][0])) for k, v in batch.labels.items() if k in observed}
        expected = classification_loss({k: logits[k] for k in observed}, labels, config.train.attribute_weights)
    assert torch.allclose(loss, expected)


def test_univlc_takes_captions_no_clip_fits_as_negatives_only():
    a, b = (torch.nn.functional.normalize(torch.randn(16, 8), dim=-1) for _ in range(2))
    extra = torch.nn.functional.normalize(torch.randn(5, 8), dim=-1)
    positive = torch.cat([torch.eye(16, dtype=torch.bool), torch.zeros(16, 5, dtype=torch.bool)], 1)
    with_extra = univlc(a, torch.cat([b, extra]), positive, 0.1)
    assert torch.isfinite(with_extra) and with_extra > univlc(a, b, torch.eye(16, dtype=torch.bool), 0.1)
    with pytest.raises(ValueError, match="at least one positive"):
        univlc(a, b, torch.zeros(16, 16, dtype=torch.bool), 0.1)


def test_mil_nce_counts_a_clips_wrong_captions_as_its_negatives_only():
    clips = torch.nn.functional.normalize(torch.randn(6, 8), dim=-1)
    captions = torch.nn.functional.normalize(torch.randn(6, 3, 8), dim=-1)
    plain = mil_nce(clips, captions, 0.1)
    near = mil_nce(clips, captions, 0.1, clips[:, None, :].expand(6, 2, 8))  # as close as can be: a harder task
    far = mil_nce(clips, captions, 0.1, -clips[:, None, :].expand(6, 2, 8))  # opposite: almost no change
    assert near > plain + 0.1 and 0 <= far - plain < 1e-3


def test_negative_captions_join_the_text_alignment(tmp_path):
    config = tiny_config(2, {"contrastive": 1.0})
    config.train.negative_captions = 3
    Trainer(config, tmp_path, "cpu", log_every=1).run()
    assert all(r["milnce/video-text"] > 0 and r["univlc/video-text"] > 0 for r in losses(tmp_path))


@pytest.mark.parametrize("modality", ["image", "points"])
def test_relative_mae_loss_is_one_for_the_mean_of_visible_and_ignores_scale(modality):
    g = torch.Generator().manual_seed(0)
    target = torch.rand(4, 16, 48, generator=g)
    mask = (torch.rand(4, 16, generator=g) < 0.75).float()
    mask[:, 0] = 0  # every sample keeps a visible token
    prediction = torch.rand(4, 16, 48, generator=g, requires_grad=True)
    out = MAEOutput(prediction, target, mask)
    trivial = MAEOutput(mean_of_visible(out), target, mask)
    assert mae_loss(modality, trivial, relative=True).item() == pytest.approx(1.0, rel=1e-5)
    loss = mae_loss(modality, out, relative=True)
    scaled = mae_loss(modality, MAEOutput(prediction * 10, target * 10, mask), relative=True)
    assert loss.item() == pytest.approx(scaled.item(), rel=1e-4) and loss.item() != pytest.approx(1.0)
    if modality == "image":  # squared error scales with the square, so raw losses differ by 100x
        raw = mae_loss(modality, MAEOutput(prediction * 10, target * 10, mask))
        assert raw.item() == pytest.approx(100 * mae_loss(modality, out).item(), rel=1e-4)
    loss.backward()
    assert prediction.grad[mask.bool()].abs().sum() > 0 and prediction.grad[~mask.bool()].abs().sum() == 0


@pytest.mark.parametrize("path", sorted((Path(__file__).parents[1] / "configs").rglob("*.json")), ids=lambda p: p.stem)
def test_every_shipped_config_loads_and_its_stages_can_run(path):
    from omnivec_core.objectives import check_plan
    config = ExperimentConfig.load(path)
    assert config.train.total_steps > 0
    check_plan(config.model, config.train)


def test_compiled_blocks_compile_a_few_graphs_once(tmp_path, monkeypatch):
    """torch.compile on every transformer block makes a few graphs in the first steps (backbone and decoder
    widths, padded and unpadded tokens) and none after: no guard on a block's own drop-path rate, no recompiles
    until dynamo's limit and a fall back to eager. The eager backend, since guards and graphs are dynamo's."""
    import torch._dynamo
    from torch._dynamo.utils import counters

    compile_module = torch.nn.Module.compile
    monkeypatch.setattr(torch.nn.Module, "compile", lambda self, *a, **k: compile_module(self, *a, backend="eager", **k))
    torch._dynamo.reset()
    counters.clear()
    config = preset("tiny")
    config.model.drop_path, config.train.batch_size = 0.1, 4
    config.train.stages = [StageConfig("mae", 2, {"mae": 1.0}), StageConfig("align", 2, {"contrastive": 1.0, "tasks": 1.0})]
    trainer = Trainer(config, tmp_path / "run", "cpu", compile_blocks=True)
    for step in range(4):
        trainer.train_step(step)
    first = counters["stats"]["unique_graphs"]
    for step in range(4):  # the same plan again: every graph it needs exists
        trainer.train_step(step)
    assert 1 <= first <= 6 and counters["stats"]["unique_graphs"] == first
    assert counters["frames"]["total"] == counters["frames"]["ok"], "a block fell back to eager"
    torch._dynamo.reset()
