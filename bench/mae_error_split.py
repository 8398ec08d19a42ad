"""Where a model's image reconstruction error lies: masked patches split into those the object covers
(in images where part of the object stayed visible, and where all of it was hidden) and background
patches by their distance (in patches) from the object, for the model, the evaluation's
mean-of-visible baseline, and a background oracle that knows the true mean of the background.

    python bench/mae_error_split.py [--checkpoint checkpoints/omnivec-default] [--n 256] [--ratio 0.75]

Prints a table of mean squared error per pixel value. Uses a validation seed, not the evaluation seed.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from omnivec_core.evaluate import VALIDATION_SEED  # noqa: E402
from omnivec_core.data.omnishapes import OmniShapes  # noqa: E402
from omnivec_core.modalities import patches  # noqa: E402
from omnivec_core.model.tokens import masked_mean  # noqa: E402
from omnivec_core.train.checkpoint import load_model  # noqa: E402


def patch_distance_to_object(cover: torch.Tensor, grid: int) -> torch.Tensor:
    """(B, N) share of each patch the object covers -> (B, N) distance to the nearest covered patch."""
    cells = torch.stack(torch.meshgrid(torch.arange(grid), torch.arange(grid), indexing="ij"), -1)
    cells = cells.reshape(grid * grid, 2).float()                                   # (N, 2)
    distance = torch.cdist(cells, cells)                                             # (N, N)
    far = torch.full_like(distance, math.inf)
    return torch.where(cover[:, None, :] > 0, distance[None], far[None]).amin(-1)   # (B, N)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", default="checkpoints/omnivec-default")
    parser.add_argument("--n", type=int, default=256, help="held-out images")
    parser.add_argument("--ratio", type=float, default=0.75, help="mask ratio")
    args = parser.parse_args(argv)

    model, config = load_model(Path(args.checkpoint))
    model.eval()
    batch = OmniShapes().render(args.n, seed=VALIDATION_SEED)
    with torch.no_grad():
        encoded = model.encode("image", batch.image, args.ratio, "random", torch.Generator().manual_seed(0),
                               for_mae=True)
        out = model.reconstruct(encoded, batch.image)
    masked, target = out.mask.bool(), out.target                                     # (B, N), (B, N, p*p*3)
    p = config.model.patch
    # the object's share of each patch, cut like the target so the token order matches
    cover = patches.patchify_2d((batch.image_mask > 0).float().unsqueeze(1), p).mean(-1)          # (B, N)
    guesses = {
        "model": out.prediction,
        "mean of visible (baseline)": masked_mean(target, masked).unsqueeze(1),                  # (B, 1, D)
        "true background mean (oracle)": masked_mean(target, cover > 0).unsqueeze(1),
    }
    errors = {name: (guess.expand_as(target) - target).square().mean(-1) for name, guess in guesses.items()}
    distance = patch_distance_to_object(cover, math.isqrt(cover.shape[1]))
    seen = ((cover > 0) & ~masked).any(1)  # (B,) the encoder saw part of the object: its colour and where it is
    groups = {
        "all masked": masked,
        "object": masked & (cover > 0),
        "object, some of it visible": masked & (cover > 0) & seen[:, None],
        "object, wholly hidden": masked & (cover > 0) & ~seen[:, None],
        "background, next to the object": masked & (cover == 0) & (distance < 1.5),
        "background, 2 patches away": masked & (cover == 0) & (distance >= 1.5) & (distance < 3),
        "background, 3+ patches away": masked & (cover == 0) & (distance >= 3),
    }
    print(f"Image MAE error on masked patches: {args.checkpoint}, ratio {args.ratio}, "
          f"{args.n} images of seed {VALIDATION_SEED}\n")
    print(f"| patches | share | {' | '.join(guesses)} |")
    print("|---|---|" + "---|" * len(guesses))
    for name, selected in groups.items():
        cells = " | ".join(f"{errors[g][selected].mean().item():.5f}" for g in guesses)
        print(f"| {name} | {selected.sum().item() / masked.sum().item():.3f} | {cells} |")
    gain = 10 * math.log10(errors["mean of visible (baseline)"][masked].mean().item()
                           / errors["model"][masked].mean().item())
    print(f"\nmodel PSNR gain over the baseline on masked patches: {gain:+.2f} dB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
