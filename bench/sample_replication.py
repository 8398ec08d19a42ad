"""OmniMAE's sample replication (Girdhar et al. 2022) on the tiny model: MAE alone at replicas n = 1, 2, 4,
with equal batch size and steps (a step renders batch / n events, each repeated n times under its own masks);
how long each takes, in wall-clock and steps, to reach one held-out MAE loss, and the loss it ends at.

    python -m bench.sample_replication [--replicas 1 2 4] [--steps 150] [--batch 32] [--every 10]
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

from omnivec_core.lab.replication import halfway_loss, reached, run, warm_up
from omnivec_core.modalities import REGISTRY


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
