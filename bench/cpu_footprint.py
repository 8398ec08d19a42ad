"""CPU footprint: tiny-preset training steps/s per stage (each rendering only its stage's modalities,
also under bf16 autocast), what each modality costs a training step, encode latency at batch 1 and 64,
and peak memory.

    python -m bench.cpu_footprint [--threads 2] [--preset tiny] [--repeats 5] [--batch N]

--batch sets the events of a training step (default: the preset's batch size); `--repeats 1 --batch 4`
is a smoke run.
"""
from __future__ import annotations

import argparse
import resource
import time


import torch

from omnivec_core.config import MODALITIES, preset
from omnivec_core.data.omnishapes import OmniShapes
from omnivec_core.model import OmniVec
from omnivec_core.objectives import stage_losses
from omnivec_core.modalities import CAPTIONS, REGISTRY
from omnivec_core.objectives.plan import stage_modalities


def median_seconds(call, repeats: int) -> float:
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=None, help="events per training step (default: the preset's)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = preset(args.preset)
    torch.manual_seed(0)
    model = OmniVec(config.model).train()
    optimizer = torch.optim.AdamW(model.optimizer_groups(0.05), lr=1e-4)
    world = OmniShapes()
    batch_size = args.batch or config.train.batch_size
    print(f"{args.preset} preset on CPU, {args.threads} threads, torch {torch.__version__}")
    print(f"\n{'stage':<10} {'batch':>5} {'s/step':>8} {'steps/s':>8} {'samples/s':>10} {'bf16 s/step':>12}")
    for step, stage in enumerate(config.train.stages):
        modalities = stage_modalities(config.model.modalities, stage)
        def one_step(bf16: bool):
            batch = world.render(batch_size, seed=0, start=step * batch_size, modalities=modalities)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss, _ = stage_losses(model, batch, config.train, stage, step)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        seconds = median_seconds(lambda: one_step(False), args.repeats)
        bf16 = median_seconds(lambda: one_step(True), args.repeats)
        print(f"{stage.name:<10} {batch_size:>5} {seconds:>8.3f} {1 / seconds:>8.2f} {batch_size / seconds:>10.1f} "
              f"{bf16:>12.3f}")
    # what each modality adds to a step: encode (with the preset's DropToken), embed, backward, as in alignment
    print(f"\n{'one training batch of ' + str(batch_size):<24} {'fwd+bwd (ms)':>12}")
    batch = world.render(batch_size, seed=2)
    for m in config.model.modalities:
        x = [c for row in batch[CAPTIONS] for c in row] if m == CAPTIONS else REGISTRY[m].batch_input(batch)
        def forward_backward():
            encoded = model.encode(m, x, config.train.droptoken.get(m, 0.0))
            loss = sum(e.float().sum() for e in model.embed(encoded).values()) + encoded.vector.sum()
            optimizer.zero_grad()
            loss.backward()
        label = f"{m} ({len(x)} captions)" if m == CAPTIONS else m
        print(f"{label:<24} {median_seconds(forward_backward, args.repeats) * 1000:>12.0f}")
    model.eval()
    print(f"\n{'modality':<9} {'batch 1 (ms)':>13} {'batch 64 (ms)':>14} {'per item @64 (ms)':>18}")
    batch = world.render(64, seed=1)
    with torch.no_grad():
        for m in MODALITIES:
            x = REGISTRY[m].batch_input(batch)
            one = median_seconds(lambda: model.embed(model.encode(m, x[:1])), args.repeats)
            many = median_seconds(lambda: model.embed(model.encode(m, x)), args.repeats)
            print(f"{m:<9} {one * 1000:>13.1f} {many * 1000:>14.1f} {many * 1000 / 64:>18.2f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak resident memory: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
