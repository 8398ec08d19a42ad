"""Starting a plan at one of its stages from a model trained by a plan with the same stages before it
(`train --init DIR --from-stage NAME`): a late stage can be changed, or one inserted, without running the
hours before it again.

At the first step of stage S a full run holds the initialisation in every parameter no earlier stage
trained, and the earlier stages' results in the rest. That is rebuilt here: parameters the earlier stages
train come from DIR, all others keep their initialisation. It is the full run's state exactly when DIR's
own plan trained none of those parameters at S or after, which is checked, not assumed: which
parameters a stage trains is read from the gradients of two probe steps of it (two, because task
grouping alternates its heads step by step)."""
from __future__ import annotations

import dataclasses
from pathlib import Path


from ..config import StageConfig
from ..objectives import stage_losses
from . import checkpoint


def stage_start(stages: list[StageConfig], name: str) -> tuple[int, int]:
    """(index, first step) of the stage called `name`."""
    step = 0
    for index, stage in enumerate(stages):
        if stage.name == name:
            return index, step
        step += stage.steps
    raise ValueError(f"--from-stage {name!r} is not a stage of this plan; its stages are "
                     f"{[s.name for s in stages]}")


def trained_parameters(trainer, stages: list[StageConfig], first_step: int) -> set[str]:
    """Names of the parameters that any of these stages (starting at `first_step`, in order) gives a
    gradient, by two probe steps of each. The model's weights and buffers are restored afterwards."""
    model, cfg = trainer.model, trainer.config.train
    saved = {k: v.clone() for k, v in model.state_dict().items()}
    names, step = set(), first_step
    for stage in stages:
        model.hold(stage.frozen)
        for probe in (step, step + 1):
            trainer.seed_step(probe)
            loss, _ = stage_losses(model, trainer.render_batch(probe, stage), cfg, stage, probe)
            model.zero_grad(set_to_none=True)
            loss.backward()
            names |= {n for n, p in model.named_parameters() if p.grad is not None}
        model.zero_grad(set_to_none=True)
        step += stage.steps
    model.release()
    model.load_state_dict(saved)
    return names


def start_at_stage(trainer, directory: Path, name: str) -> int:
    """Load into `trainer.model` the full run's state at the first step of stage `name`; returns that step."""
    stages = trainer.config.train.stages
    index, first = stage_start(stages, name)
    given, given_config = checkpoint.load_model(directory, trainer.rt.device)
    theirs = given_config.train.stages
    if [dataclasses.asdict(s) for s in theirs[:index]] != [dataclasses.asdict(s) for s in stages[:index]]:
        raise ValueError(f"cannot start at stage {name!r} from {directory}: the stages before it differ from "
                         f"those that trained that model ({[s.name for s in theirs[:index]]})")
    before = trained_parameters(trainer, stages[:index], 0)
    later = trained_parameters(trainer, theirs[index:], first)
    overlap = sorted(before & later)
    if overlap:
        raise ValueError(f"cannot start at stage {name!r} from {directory}: its plan trained {len(overlap)} "
                         f"parameters again after the earlier stages (e.g. {', '.join(overlap[:3])}), so it does "
                         f"not hold their state at that stage; train the whole plan instead")
    weights, ours = given.state_dict(), trainer.model.state_dict()
    missing = sorted(n for n in before if n not in weights or weights[n].shape != ours[n].shape)
    if missing:
        raise ValueError(f"cannot start at stage {name!r} from {directory}: it lacks {len(missing)} tensors the "
                         f"earlier stages train (e.g. {', '.join(missing[:3])})")
    parameters = {n for n, _ in trainer.model.named_parameters()}
    buffers = {n: v for n, v in weights.items() if n not in parameters and n in ours and v.shape == ours[n].shape}
    trainer.model.load_state_dict({n: weights[n] for n in before} | buffers, strict=False)
    return first

