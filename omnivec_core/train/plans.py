"""One config builder for the command line (`python -m omnivec_core.train`) and the app's Train tab:
a preset or a plan file, then the overrides either of them gives (total steps, batch, learning rate, seed)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from ..config import ExperimentConfig, StageConfig, TrainConfig, preset


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


def build_config(config_file: Path | None = None, preset_name: str = "tiny", steps: int | None = None,
                 batch_size: int | None = None, lr: float | None = None, seed: int | None = None) -> ExperimentConfig:
    """The plan file `config_file` (else the preset `preset_name`) with each override that is not None.
    `lr` is the peak of every schedule whose first stage sets none of its own."""
    config = ExperimentConfig.load(config_file) if config_file else preset(preset_name)
    if steps is not None:
        set_steps(config.train, steps)
    for name, value in (("batch_size", batch_size), ("lr", lr), ("seed", seed)):
        if value is not None:
            setattr(config.train, name, value)
    return config
