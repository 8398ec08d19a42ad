"""The base configs of the lab's tables at a scale: "micro" (the lab's own CPU scale: the tiny preset's model cut to
two blocks of width 64 and a short plan, about a minute a row on two cores, so every row can train with three
seeds), or a preset ("tiny", "small": the GPU plan), each on the modalities its table compares."""
from __future__ import annotations

from ..config import ExperimentConfig, StageConfig, preset
from ..modalities import CAPTIONS

SCALES = ("micro", "tiny", "small")
MICRO_STEPS = 60  # the budget two shared cores allow for three seeds of every row (BENCHMARKS §8 gives the spreads)
ALIGN = {"contrastive": 1.0, "tasks": 1.0, "mae": 0.25}


def micro() -> ExperimentConfig:
    """The tiny preset's model at width 64 and depth 2, a batch of 16, MAE for a sixth of the steps and then
    alignment with the task heads (MAE kept as a regulariser); no quick evaluation or checkpoint before the end."""
    config = preset("tiny")
    config.preset = "micro"
    config.model.width, config.model.depth, config.model.heads, config.model.stem_dim = 64, 2, 4, 64
    train = config.train
    train.batch_size, train.warmup_steps, train.eval_events = 16, 12, 64
    train.eval_every = train.save_every = 10 ** 6
    pretrain = MICRO_STEPS // 6
    train.stages = [StageConfig("pretrain", pretrain, {"mae": 1.0}, schedule="own"),
                    StageConfig("align", MICRO_STEPS - pretrain, dict(ALIGN), schedule="own")]
    return config


def at_scale(scale: str) -> ExperimentConfig:
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    return micro() if scale == "micro" else preset(scale)


def restrict(config: ExperimentConfig, modalities: tuple[str, ...]) -> ExperimentConfig:
    """The config on `modalities` alone. A stage that names modalities keeps those the model has; one left with
    no signal modality (captions only) renders all of them instead."""
    config.model.modalities = tuple(modalities)
    for stage in config.train.stages:
        if stage.modalities:
            kept = [m for m in stage.modalities if m in modalities]
            stage.modalities = kept if any(m != CAPTIONS for m in kept) else []
    return config


def on(*modalities: str, time_profile: str | None = None):
    """A table's base: the scale's config on `modalities` (and, given, another time profile)."""
    def base(scale: str) -> ExperimentConfig:
        config = restrict(at_scale(scale), modalities)
        if time_profile is not None:
            config.model.time_profile = time_profile
        return config
    return base
