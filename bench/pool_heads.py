"""Does a pool that keeps time lift video->audio retrieval? New pooling + projection heads trained
on a frozen model's backbone tokens with video-audio NCE: mean/max over all tokens (what the
Vectorizer does) against the same plus a per-time-step profile (tokens averaged over space or
frequency, one vector per time step, in order).

    python bench/pool_heads.py [--checkpoint checkpoints/omnivec-default] [--train 4000] [--steps 1500]

Prints R@1 among 1,000 events of validation seed 31337 for each pool; heads train on seed 31338.
Only the heads learn, so the table isolates the pooling: both read the same tokens.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from omnivec_core.config import TEMPERATURE  # noqa: E402
from omnivec_core.evaluate import VALIDATION_SEED  # noqa: E402
from omnivec_core.data.omnishapes import OmniShapes  # noqa: E402
from omnivec_core.objectives.losses import nce  # noqa: E402
from omnivec_core.train.checkpoint import load_model  # noqa: E402

MODALITIES = ("video", "audio")


@torch.no_grad()
def backbone_tokens(model, seed: int, n: int, chunk: int = 250) -> dict[str, torch.Tensor]:
    """Content tokens on their time-major grid: video (n, t, h*w, D), audio (n, t, f, D), in fp16."""
    world, out = OmniShapes(), {m: [] for m in MODALITIES}
    for start in range(0, n, chunk):
        batch = world.render(min(chunk, n - start), seed=seed, start=start, modalities=MODALITIES)
        for m in MODALITIES:
            encoded = model.encode(m, getattr(batch, m))
            out[m].append(encoded.tokens[:, 1:].unflatten(1, encoded.stem.grid).half())
    return {m: torch.cat(parts) for m, parts in out.items()}


class PoolHead(nn.Module):
    """Tokens (B, t, rest, D) -> L2-normalised embedding; `timed` adds the per-time-step profile."""

    def __init__(self, width: int, steps: int, timed: bool, dim: int = 64):
        super().__init__()
        self.timed = timed
        features = (2 + (steps if timed else 0)) * width
        self.proj = nn.Sequential(nn.LayerNorm(features), nn.Linear(features, 256), nn.GELU(), nn.Linear(256, dim))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        tokens = tokens.float()
        flat = tokens.flatten(1, 2)                                   # (B, t*rest, D)
        parts = [flat.mean(1), flat.amax(1)]
        if self.timed:
            parts.append(tokens.mean(2).flatten(1))                   # (B, t*D), time order kept
        return F.normalize(self.proj(torch.cat(parts, -1)), dim=-1)


def train_and_score(train: dict, val: dict, timed: bool, steps: int, batch: int, temperature: float) -> float:
    torch.manual_seed(0)
    width = train["video"].shape[-1]
    heads = {m: PoolHead(width, train[m].shape[1], timed) for m in MODALITIES}
    optimizer = torch.optim.AdamW([p for h in heads.values() for p in h.parameters()], lr=1e-3, weight_decay=0.05)
    events = train["video"].shape[0]
    for _ in range(steps):
        rows = torch.randint(0, events, (batch,))
        loss = nce(heads["video"](train["video"][rows]), heads["audio"](train["audio"][rows]), temperature)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        similarity = heads["video"](val["video"]) @ heads["audio"](val["audio"]).t()
    return (similarity.argmax(1) == torch.arange(similarity.shape[0])).float().mean().item()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", default="checkpoints/omnivec-default")
    parser.add_argument("--train", type=int, default=4000, help="training events for the heads")
    parser.add_argument("--steps", type=int, default=1500, help="head training steps (batch 256)")
    args = parser.parse_args(argv)

    model, _ = load_model(Path(args.checkpoint))
    started = time.perf_counter()
    train = backbone_tokens(model, VALIDATION_SEED + 1, args.train)
    val = backbone_tokens(model, VALIDATION_SEED, 1000)
    print(f"video->audio R@1 among 1,000 validation events, heads on frozen tokens of {args.checkpoint}")
    print(f"  {'pool':<44} {'R@1':>6}")
    for timed, name in ((False, "mean + max over all tokens (the Vectorizer)"), (True, "mean + max + per-time-step profile")):
        score = train_and_score(train, val, timed, args.steps, 256, TEMPERATURE)
        print(f"  {name:<44} {score:>6.3f}")
    print(f"  ({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
