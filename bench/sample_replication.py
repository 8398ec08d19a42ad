"""OmniMAE's sample replication (Girdhar et al. 2022) on the tiny model: MAE alone at replicas n = 1, 2, 4,
with equal batch size and steps (a step renders batch / n events, each repeated n times under its own masks);
how long each takes, in wall-clock and steps, to reach one held-out MAE loss, and the loss it ends at.

    python bench/sample_replication.py [--replicas 1 2 4] [--steps 150] [--batch 32] [--every 10]
        [--modalities image video ...] [--events 32] [--target LOSS] [--device cpu]

The held-out loss is each modality's MAE error on its masked tokens divided by the mean-of-visible guess's
(1: no better than that guess; `mae_loss(relative=True)`), averaged over the modalities, on --events held-out
events under the same masks at every evaluation. The target is --target, or else the loss the first run
(n = 1 by default) has halfway. Wall-clock counts the training steps (rendering included), not the
evaluations. The runs take their steps in turn (one step of each, then the next), so a change in a shared
machine's load falls on each alike; a burst of load still lands on whichever step it meets, so the medians
of a step and of its rendering are printed beside it, and the steps to the target at the median pace. By
default every reconstructed modality trains (rendering all of them is about a third of a tiny step on a
CPU; image and video alone render in a few percent of it, and replication saves little there). The default
run takes a few minutes on 2 idle CPU cores; --steps 600 --batch 64 gives curves worth reading.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from omnivec_core.config import ExperimentConfig, StageConfig, preset  # noqa: E402
from omnivec_core.evaluate import HELD_OUT_SEED  # noqa: E402
from omnivec_core.modalities import REGISTRY  # noqa: E402
from omnivec_core.objectives.losses import mae_loss  # noqa: E402
from omnivec_core.train.trainer import Trainer  # noqa: E402

MASK_SEED = 0  # the held-out masks, the same at every evaluation of every run


def plan(args, replicas: int) -> ExperimentConfig:
    """The tiny model on the chosen modalities, one stage of MAE alone."""
    config = preset("tiny")
    config.model.modalities = tuple(args.modalities)
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


def table(args, runs: dict[int, dict]) -> str:
    first = next(iter(runs))
    target = args.target if args.target is not None else halfway_loss(runs[first]["curve"])
    lines = [f"MAE alone, tiny model on {', '.join(args.modalities)}: batch {args.batch}, {args.steps} steps, "
             f"held-out relative MAE loss on {args.events} events every {args.every} steps; target {target:.4f}"
             f" ({'given' if args.target is not None else f'n={first} halfway'})",
             f"{'replicas':>8} {'events/step':>11} {'median s/step':>13} {'of it render':>12} {'steps to target':>15} "
             f"{'s to target':>11} {'at median pace':>14} {'final loss':>10}"]
    for replicas, result in runs.items():
        hit = reached(result["curve"], target)
        steps, seconds, paced = (f"{hit[0]}", f"{hit[1]:.1f}", f"{hit[0] * result['step s']:.1f}") if hit else (
            "not reached", "-", "-")
        lines.append(f"{replicas:>8} {args.batch // replicas:>11} {result['step s']:>13.2f} {result['render s']:>12.2f}"
                     f" {steps:>15} {seconds:>11} {paced:>14} {result['curve'][-1][2]:>10.4f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--every", type=int, default=10, help="steps between held-out evaluations")
    reconstructed = [m for m, spec in REGISTRY.items() if spec.reconstruct]
    parser.add_argument("--modalities", nargs="+", default=reconstructed, choices=reconstructed)
    parser.add_argument("--events", type=int, default=32, help="held-out events")
    parser.add_argument("--target", type=float, default=None, help="held-out loss to reach (default: n=1's halfway)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    warm_up(args)
    print(table(args, run(args)))


if __name__ == "__main__":
    main()
