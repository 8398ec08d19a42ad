"""OmniMAE's sample replication (Girdhar et al. 2022): MAE alone at replicas n (a step renders batch / n events,
each repeated n times under its own masks) with equal batch size and steps, the runs taking their steps in
turn, each with its held-out loss curve over training seconds. The papers lab's `omnimae-replication` table
and `python -m bench.sample_replication` run it.

The held-out loss is each modality's MAE error on its masked tokens divided by the mean-of-visible guess's
(1: no better than that guess; `mae_loss(relative=True)`), averaged over the modalities, on `events` held-out
events under the same masks at every evaluation. Wall-clock counts the training steps (rendering included),
not the evaluations."""
from __future__ import annotations

import copy
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from ..config import ExperimentConfig, StageConfig, preset
from ..evaluation.held_out import HELD_OUT_SEED
from ..modalities import REGISTRY
from ..objectives.losses import mae_loss
from ..train.trainer import Trainer

MASK_SEED = 0  # the held-out masks, the same at every evaluation of every run


def plan(args, replicas: int) -> ExperimentConfig:
    """The tiny model (or `args.model`, a ModelConfig) on the chosen modalities, one stage of MAE alone, at
    training seed `args.seed` (default 0)."""
    config = preset("tiny")
    if getattr(args, "model", None) is not None:
        config.model = copy.deepcopy(args.model)
    config.model.modalities = tuple(args.modalities)
    config.train.seed = getattr(args, "seed", 0)
    config.train.batch_size, config.train.warmup_steps = args.batch, max(1, args.steps // 10)
    config.train.stages = [StageConfig("pretrain", args.steps, {"mae": 1.0}, replicas=replicas)]
    return config


@torch.no_grad()
def held_out_loss(trainer: Trainer, batch) -> float:
    """Mean over the modalities of the relative MAE loss on `batch`, under fixed masks."""
    model, cfg = trainer.model, trainer.config.train
    model.eval()
    generator = torch.Generator(device=batch.index.device).manual_seed(MASK_SEED)
    inputs = {m: REGISTRY[m].batch_input(batch) for m in model.cfg.modalities if REGISTRY[m].reconstruct}
    encoded = model.encode_many(inputs, cfg.mask_ratio, cfg.mask_type, generator=generator, for_mae=True)
    losses = [mae_loss(m, model.reconstruct(encoded[m], x), relative=True).item() for m, x in inputs.items()]
    model.train()
    return sum(losses) / len(losses)


def timed(function, seconds: list[float]):
    """`function`, appending the seconds of every call to `seconds`."""
    def call(*args, **kwargs):
        started = time.perf_counter()
        out = function(*args, **kwargs)
        seconds.append(time.perf_counter() - started)
        return out
    return call


def run(args) -> dict[int, dict]:
    """Per replicas n: the curve [(step, training seconds so far, held-out loss)] every --every steps from
    step 0, and the median seconds of a step and of its rendering. The runs take their steps in turn, so a
    change in the machine's load falls on each of them alike."""
    with tempfile.TemporaryDirectory() as out:
        trainers = {n: Trainer(plan(args, n), Path(out) / str(n), args.device) for n in args.replicas}
        steps, renders = {n: [] for n in trainers}, {n: [] for n in trainers}
        for n, trainer in trainers.items():
            trainer.render_batch = timed(trainer.render_batch, renders[n])  # the step renders through it
        held_out = trainers[args.replicas[0]].world.render(args.events, seed=HELD_OUT_SEED, device=args.device,
                                                           modalities=tuple(args.modalities))
        curves = {n: [(0, 0.0, held_out_loss(trainer, held_out))] for n, trainer in trainers.items()}
        for step in range(args.steps):
            for n, trainer in trainers.items():
                timed(trainer.train_step, steps[n])(step)
            if (step + 1) % args.every == 0 or step + 1 == args.steps:
                for n, trainer in trainers.items():
                    curves[n].append((step + 1, sum(steps[n]), held_out_loss(trainer, held_out)))
                print(f"  step {step + 1}: " + ", ".join(f"n={n} {curve[-1][2]:.4f} ({curve[-1][1]:.0f} s)"
                                                         for n, curve in curves.items()), file=sys.stderr)
    return {n: {"curve": curves[n], "step s": statistics.median(steps[n]), "render s": statistics.median(renders[n])}
            for n in trainers}


def warm_up(args) -> None:
    """One untimed step, so the first run does not pay torch's one-time costs in its wall-clock."""
    with tempfile.TemporaryDirectory() as out:
        Trainer(plan(args, args.replicas[0]), Path(out), args.device).train_step(0)


def reached(curve: list[tuple[int, float, float]], target: float) -> tuple[int, float] | None:
    """(step, seconds) of the first evaluation at or below `target`, None if none is."""
    return next(((step, seconds) for step, seconds, loss in curve if loss <= target), None)


def halfway_loss(curve: list[tuple[int, float, float]]) -> float:
    """The loss at the evaluation nearest half the run's steps."""
    return min(curve, key=lambda point: abs(point[0] - curve[-1][0] / 2))[2]
