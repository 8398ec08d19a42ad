"""One config builder for the command line (`python -m omnivec_core.train`), the app's Train tab and its
/train endpoint: a preset, a plan file or a plan (the JSON a plan file holds), then the overrides given (total
steps, batch, learning rate, seed), checked against the model before any step runs; and a folder of the
user's media to train on (`on_folder`)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from ..config import ExperimentConfig, StageConfig, TrainConfig, preset
from ..objectives import check_plan


def scale_stages(stages: list[StageConfig], steps: int) -> list[StageConfig]:
    """Keep each stage's share of the plan at a new total; every stage keeps at least one step, and a
    warmup a stage sets for its own schedule shrinks with it (never grows)."""
    factor = steps / sum(s.steps for s in stages)
    scaled = [dataclasses.replace(s, steps=max(1, round(s.steps * factor)),
                                  warmup_steps=_shrunk(s.warmup_steps, factor)) for s in stages]
    scaled[-1].steps = max(1, steps - sum(s.steps for s in scaled[:-1]))
    return scaled


def _shrunk(warmup: int | None, factor: float) -> int | None:
    return None if warmup is None else min(warmup, max(1, round(warmup * factor)))


def set_steps(train: TrainConfig, steps: int) -> None:
    """Run the plan in `steps` steps in all, each stage keeping its share of them; the plan's warmup
    becomes at most a tenth of the run."""
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    train.stages = scale_stages(train.stages, steps)
    train.warmup_steps = min(train.warmup_steps, max(1, steps // 10))


FOLDER_STEPS = 600  # a fine-tuning run on a folder, when --steps does not say


def folder_finetune(model_config: Path) -> ExperimentConfig:
    """The model of a model directory's config.json with one fine-tuning stage: contrastive alignment of
    what co-occurs in a file (a clip's frames and sound, a file and its captions) and the task heads, at a
    tenth of the usual peak learning rate so the model keeps what it knows."""
    config = ExperimentConfig.load(model_config)
    config.train.stages = [StageConfig("folder", FOLDER_STEPS, {"contrastive": 1.0, "tasks": 1.0}, schedule="own",
                                       lr=config.train.lr / 10, warmup_steps=20)]
    return config


def on_folder(config: ExperimentConfig, root: Path, classes: list[str], share: float = 1.0) -> ExperimentConfig:
    """Every stage draws `share` of its steps from the folder at `root`; the model gets a head for its classes."""
    if not classes:
        raise ValueError(f"{root} has no class labels: a folder to train on needs class folders or a metadata CSV")
    if not 0.0 < share <= 1.0:
        raise ValueError(f"the folder's share of the steps must be in (0, 1], got {share}")
    config.model.classes = tuple(classes)
    for stage in config.train.stages:
        stage.folder, stage.folder_share = str(Path(root).resolve()), share
    return config


def build_config(config_file: Path | None = None, preset_name: str = "tiny", steps: int | None = None,
                 batch_size: int | None = None, lr: float | None = None, seed: int | None = None,
                 plan: dict | None = None) -> ExperimentConfig:
    """The plan (a dict as a plan file holds), else the plan file `config_file`, else the preset `preset_name`,
    with each override that is not None; a ValueError names what is wrong in it. `lr` is the peak of every
    schedule whose first stage sets none of its own."""
    if plan is not None and not isinstance(plan, dict):
        raise ValueError(f"a plan is a JSON object (what a plan file holds), got {type(plan).__name__}")
    config = ExperimentConfig.from_dict(plan) if plan is not None else \
        ExperimentConfig.load(config_file) if config_file else preset(preset_name)
    if steps is not None:
        set_steps(config.train, steps)
    for name, value in (("batch_size", batch_size), ("lr", lr), ("seed", seed)):
        if value is not None:
            setattr(config.train, name, value)
    check_plan(config.model, config.train)  # a stage the model cannot run is refused now, not hours in
    return config
