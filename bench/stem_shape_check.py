"""How fast each visual stem and vectorizer pooling learns shape: the tiny model trained supervised on
one modality's shape label (no other objective): linear patchify, the conv stem without and with a
context conv (all pooling the mean of the tokens), and the last with mean and max pooling; held-out
accuracy every 100 steps.

    python bench/stem_shape_check.py [--modality image] [--steps 600] [--batch 64] [--only NAME ...]

Prints a table. Each run takes a few minutes on 2 CPU cores.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from omnivec_core.config import preset  # noqa: E402
from omnivec_core.data.omnishapes import OmniShapes  # noqa: E402
from omnivec_core.model.omnivec import OmniVec  # noqa: E402

TRAIN_SEED, TEST_SEED, LR, WARMUP = 1, 999, 2e-3, 30


def accuracy(model: OmniVec, modality: str, test) -> float:
    model.eval()
    with torch.no_grad():
        logits = model.classify(model.encode(modality, getattr(test, modality)))["shape"]
    model.train()
    return float((logits.argmax(-1) == test.labels["shape"]).float().mean())


STEMS = {  # column name -> model config changes
    "linear": {"conv_stem": False, "stem_context": 0, "vector_pool": "mean"},
    "conv": {"conv_stem": True, "stem_context": 0, "vector_pool": "mean"},
    "conv+context": {"conv_stem": True, "stem_context": 1, "vector_pool": "mean"},
    "context+max": {"conv_stem": True, "stem_context": 1, "vector_pool": "mean_max"},
}


def run(stem: str, modality: str, steps: int, batch: int, every: int) -> list[tuple[int, float, float]]:
    """[(step, held-out accuracy, seconds)] for one stem."""
    torch.manual_seed(0)
    model = OmniVec(dataclasses.replace(preset("tiny").model, **STEMS[stem]))
    optimizer = torch.optim.AdamW(model.optimizer_groups(0.05), lr=LR)
    world = OmniShapes()
    test = world.render(512, seed=TEST_SEED, modalities=(modality,))
    rows, start = [], time.perf_counter()
    for step in range(steps):
        lr = LR * min(1.0, (step + 1) / WARMUP) * 0.5 * (1 + math.cos(math.pi * step / steps))
        for group in optimizer.param_groups:
            group["lr"] = lr
        events = world.render(batch, seed=TRAIN_SEED, start=step * batch, modalities=(modality,))
        logits = model.classify(model.encode(modality, getattr(events, modality)))["shape"]
        loss = F.cross_entropy(logits, events.labels["shape"])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if (step + 1) % every == 0:
            rows.append((step + 1, accuracy(model, modality, test), time.perf_counter() - start))
            print(f"  {stem} step {step + 1}: {rows[-1][1]:.3f}", file=sys.stderr)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modality", default="image", choices=("image", "video", "depth"))
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--only", nargs="+", choices=tuple(STEMS), default=tuple(STEMS), help="columns to run")
    args = parser.parse_args()
    results = {stem: run(stem, args.modality, args.steps, args.batch, args.every) for stem in args.only}
    print(f"held-out {args.modality} shape accuracy (512 events, chance 0.125), tiny model, batch {args.batch}")
    print(f"{'step':>6} " + " ".join(f"{stem:>13}" for stem in results))
    for rows in zip(*results.values()):
        print(f"{rows[0][0]:>6} " + " ".join(f"{accuracy:>13.3f}" for _, accuracy, _ in rows))
    print("wall: " + ", ".join(f"{stem} {rows[-1][2]:.0f} s" for stem, rows in results.items()))


if __name__ == "__main__":
    main()
