"""Your own media end to end, on a folder of clips drawn here (squares of two colours crossing a black
frame two ways, with a tone, and captions): the folder gallery and its cache, training on the folder
(alone and mixed with OmniShapes, from scratch and fine-tuning a model) and evaluation on its split."""
from __future__ import annotations

import json

import pytest
import torch

from bench import media_factory as mf
from omnivec_core.analysis import folder_gallery as fg
from omnivec_core.config import FOLDER_LABEL, StageConfig, preset
from omnivec_core.data.folder_batches import FolderBatches
from omnivec_core.data.folders import scan_folder
from omnivec_core.evaluation.folder import evaluate_folder, format_folder_report
from omnivec_core.train import __main__ as train_cli
from omnivec_core.train.checkpoint import load_model
from omnivec_core.train.plans import on_folder
from omnivec_core.train.trainer import Trainer

COLOURS = {"red": (230, 30, 30), "blue": (30, 60, 230)}
DIRECTIONS = ("left", "right")
PER_CLASS = 5


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("clips")
    rows = []
    for colour, rgb in COLOURS.items():
        for direction in DIRECTIONS:
            folder = root / f"{colour}-{direction}"
            folder.mkdir()
            for i in range(PER_CLASS):
                name = f"v_{colour}{direction}_g{i:02d}_c01.mp4"
                mf.make_square_clip(folder / name, rgb, direction, seconds=1.0, size=64)
                rows += [f"{name},a {colour} square moving {direction}",
                         f"{name},something {colour} going {direction}"]
    (root / "captions.csv").write_text("file,caption\n" + "\n".join(rows) + "\n")
    return root


@pytest.fixture(scope="module")
def cache(tmp_path_factory, monkeypatch_module):
    folder = tmp_path_factory.mktemp("cache")
    monkeypatch_module.setenv("OMNIVEC_CACHE", str(folder))
    return folder


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def trained(clips, cache, tmp_path_factory):
    """A tiny model trained 40 steps on the folder alone (contrastive + the class head)."""
    out = tmp_path_factory.mktemp("folder-model")
    config = preset("tiny")
    config.train.batch_size, config.train.eval_every = 8, 10**6
    config.train.stages = [StageConfig("folder", 40, {"contrastive": 1.0, "tasks": 1.0})]
    on_folder(config, clips, scan_folder(clips, cache_dir=cache / "folders").classes)
    Trainer(config, out, "cpu", log_every=1).run()
    return out


def test_a_clip_folder_gives_paired_batches_with_class_labels(clips, cache):
    batches = FolderBatches(scan_folder(clips, cache_dir=cache / "folders"), "train")
    assert {"video", "audio", "image", "text"} <= set(batches.modalities)
    batch = batches.render(6, seed=3, start=0)
    assert batch["video"].shape == (6, 8, 3, 64, 64) and batch["audio"].shape == (6, 1, 64, 64)
    assert batch["image"].shape == (6, 3, 64, 64) and len(batch["text"]) == 6 and len(batch["text"][0]) == 3
    assert set(batch.labels) == {FOLDER_LABEL} and batch.labels[FOLDER_LABEL].shape == (6,)
    names = [batches.classes[i] for i in batch.labels[FOLDER_LABEL].tolist()]
    assert all(name.split("-")[0] in text[0] for name, text in zip(names, batch["text"])), "captions of the same file"
    # an endless stream: every train item once per epoch, a new order the next
    epoch = batches.order(seed=3, start=0, n=len(batches))
    assert sorted(epoch.tolist()) == list(range(len(batches)))
    assert not torch.equal(batches.order(3, len(batches), len(batches)), epoch)


def test_training_on_a_folder_lowers_its_losses(trained):
    lines = [json.loads(line) for line in (trained / "metrics.jsonl").read_text().splitlines()]
    losses = [line["cls/video"] for line in lines if "cls/video" in line]
    assert len(losses) >= 30, "every step trains the class head on the folder"
    assert sum(losses[-8:]) / 8 < 0.7 * sum(losses[:8]) / 8, losses
    model, config = load_model(trained)
    assert config.model.classes == tuple(sorted(f"{c}-{d}" for c in COLOURS for d in DIRECTIONS))
    assert model.tasks.classify[FOLDER_LABEL].out_features == len(COLOURS) * len(DIRECTIONS)


def test_evaluation_reports_on_the_folders_held_out_split(trained, clips, cache):
    model, _ = load_model(trained)
    dataset = scan_folder(clips, cache_dir=cache / "folders")
    report = evaluate_folder(model, dataset)
    assert report["test_items"] == len(dataset.split("test")) > 0
    assert report["train_items"] + report["test_items"] == len(COLOURS) * len(DIRECTIONS) * PER_CLASS
    assert {"video", "audio", "image"} <= set(report["probe"]) and {"video", "audio"} <= set(report["zero_shot"])
    assert "video->audio" in report["retrieval"] and "video" in report["caption_precision"]
    scores = [*report["probe"].values(), *report["zero_shot"].values(), *report["caption_precision"].values(),
              *(r["R@1"] for r in report["retrieval"].values())]
    assert all(0.0 <= s <= 1.0 for s in scores)
    text = format_folder_report(report)
    assert "linear probe of the class" in text and "video->audio" in text


def test_a_share_of_the_steps_comes_from_the_folder(trained, clips):
    _, config = load_model(trained)
    config.train.stages = [StageConfig("mixed", 10, {"contrastive": 1.0}, folder=str(clips), folder_share=0.3)]
    trainer = Trainer(config, trained.parent / "mixed", "cpu")
    sources = [trainer.source(step, config.train.stages[0]) for step in range(10)]
    assert sum(s is trainer.world for s in sources) == 7
    assert all(isinstance(s, FolderBatches) for s in sources if s is not trainer.world)


def test_the_command_line_fine_tunes_a_model_on_a_folder(trained, clips, tmp_path, capsys):
    out = tmp_path / "finetuned"
    code = train_cli.main(["--data", str(clips), "--init", str(trained), "--steps", "3", "--batch-size", "8",
                           "--out", str(out), "--device", "cpu"])
    assert code == 0, capsys.readouterr().err
    _, config = load_model(out)
    [stage] = config.train.stages
    assert stage.name == "folder" and stage.steps == 3 and stage.folder == str(clips.resolve())
    assert "train" in capsys.readouterr().out
    assert train_cli.main(["--data", str(tmp_path / "nothing"), "--out", str(tmp_path / "x")]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_the_folder_gallery_is_cached_until_a_file_or_the_model_changes(trained, clips, cache, monkeypatch):
    model, _ = load_model(trained)
    first = fg.load_folder_gallery(model, trained, clips)
    assert {"video", "audio", "image", "text"} <= set(first.rows)
    assert first.n == len(COLOURS) * len(DIRECTIONS) * PER_CLASS
    built = []
    real = fg.build_folder_gallery
    monkeypatch.setattr(fg, "build_folder_gallery", lambda *a, **k: built.append(1) or real(*a, **k))
    again = fg.load_folder_gallery(model, trained, clips)
    assert built == [] and torch.equal(again.embeddings["video"]["fine"], first.embeddings["video"]["fine"])
    changed = sorted(clips.glob("red-left/*.mp4"))[0]
    mf.make_square_clip(changed, (30, 230, 30), "left", seconds=1.0, size=64)
    fg.load_folder_gallery(model, trained, clips)
    assert built == [1], "a changed file embeds the folder again"
