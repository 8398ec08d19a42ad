"""OmniShapes rendering speed: events per second for each modality and for all of them together.

    python -m bench.omnishapes_speed                     # CPU, 2 threads, batch 256
    python -m bench.omnishapes_speed --device cuda --batch 1024

Targets: >= 300 events/s for every modality together on 2 CPU cores; 20,000 events/s on a GPU.
"""
from __future__ import annotations

import argparse
import sys
import time


import torch

from omnivec_core.data.omnishapes import MODALITIES, OmniShapes, OmniShapesConfig


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_render(world: OmniShapes, modalities, batch: int, repeats: int, device: torch.device) -> float:
    """Best-of-``repeats`` seconds per batch (after one warm-up), fresh events each time."""
    world.render(batch, seed=0, modalities=modalities, device=device)
    _sync(device)
    best = float("inf")
    for r in range(repeats):
        t0 = time.perf_counter()
        world.render(batch, seed=1, start=r * batch, modalities=modalities, device=device)
        _sync(device)
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    p.add_argument("--batch", type=int, default=256, help="events per render call (default 256)")
    p.add_argument("--repeats", type=int, default=5, help="timed calls per row; the best is reported (default 5)")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2; 0 = torch's default)")
    args = p.parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        p.error("CUDA is not available")
    world = OmniShapes(OmniShapesConfig())
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"OmniShapes render speed on {name}, batch {args.batch}, best of {args.repeats}, torch {torch.__version__}")
    rows = [(m, (m,)) for m in MODALITIES] + [(f"all {len(MODALITIES)}", MODALITIES)]
    print(f"{'modality':<10} {'ms/batch':>10} {'events/s':>10}")
    print("-" * 32)
    for label, mods in rows:
        sec = time_render(world, mods, args.batch, args.repeats, device)
        print(f"{label:<10} {sec * 1e3:>10.1f} {args.batch / sec:>10.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
