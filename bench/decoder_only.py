"""Is a model's image reconstruction limited by its MAE decoder? Freeze everything else, train only the
decoder (the model's own, or a fresh one of another size) on image MAE alone for a few minutes, and
print the PSNR gain over the mean-of-visible baseline on held-out images as it goes.

    python bench/decoder_only.py [--checkpoint checkpoints/omnivec-default] [--minutes 10] [--lr 2e-3]
                                 [--fresh WIDTH DEPTH] [--n 512]

Uses the validation seed, not the evaluation seed. The model on disk is not changed.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from omnivec_core.evaluate import VALIDATION_SEED  # noqa: E402
from omnivec_core.data.omnishapes import OmniShapes  # noqa: E402
from omnivec_core.model.layers import init_weights  # noqa: E402
from omnivec_core.model.mae import MAEDecoder  # noqa: E402
from omnivec_core.modalities import REGISTRY  # noqa: E402
from omnivec_core.objectives.losses import mae_loss, mean_of_visible  # noqa: E402
from omnivec_core.train.checkpoint import load_model  # noqa: E402

TRAIN_SEED, RATIO, BATCH = 5, 0.75, 64


@torch.no_grad()
def psnr_gain(model, images: torch.Tensor, chunk: int = 128) -> tuple[float, float]:
    """(gain over the baseline in dB, model error per value) on the masked patches, fixed masks."""
    model.eval()
    generator, errors = torch.Generator().manual_seed(0), {"model": 0.0, "baseline": 0.0}
    count = 0.0
    for start in range(0, len(images), chunk):
        x = images[start:start + chunk]
        out = model.reconstruct(model.encode("image", x, RATIO, "random", generator, for_mae=True), x)
        errors["model"] += (REGISTRY["image"].token_error(out.prediction, out.target) * out.mask).sum().item()
        errors["baseline"] += (REGISTRY["image"].token_error(mean_of_visible(out), out.target) * out.mask).sum().item()
        count += out.mask.sum().item()
    model.train()
    return 10 * math.log10(errors["baseline"] / errors["model"]), errors["model"] / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, default=Path("checkpoints/omnivec-default"))
    parser.add_argument("--minutes", type=float, default=10.0, help="training time (one cosine over it)")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--fresh", type=int, nargs=2, metavar=("WIDTH", "DEPTH"),
                        help="train a new decoder of this width and depth instead of the model's own")
    parser.add_argument("--n", type=int, default=512, help="held-out images")
    args = parser.parse_args()
    torch.manual_seed(0)
    model, _ = load_model(args.checkpoint)
    model.requires_grad_(False)
    if args.fresh:
        width, depth = args.fresh
        model.decoder = MAEDecoder(dataclasses.replace(model.cfg, decoder_width=width, decoder_depth=depth))
        model.decoder.apply(init_weights)
    model.decoder.requires_grad_(True)
    optimizer = torch.optim.AdamW(model.decoder.parameters(), lr=args.lr, weight_decay=0.05)
    world = OmniShapes()
    held_out = world.render(args.n, seed=VALIDATION_SEED, modalities=("image",)).image
    gain, error = psnr_gain(model, held_out)
    print(f"image MAE at {RATIO:.0%}, decoder only, {args.checkpoint}, {args.n} images of seed {VALIDATION_SEED}")
    print(f"{'step':>6} {'minutes':>8} {'gain dB':>8} {'error':>9}\n{0:>6} {0:>8.1f} {gain:>8.2f} {error:>9.5f}")
    start, step = time.perf_counter(), 0
    while (elapsed := time.perf_counter() - start) < args.minutes * 60:
        for group in optimizer.param_groups:  # one cosine over the time budget
            group["lr"] = 1e-5 + (args.lr - 1e-5) * 0.5 * (1 + math.cos(math.pi * elapsed / (args.minutes * 60)))
        x = world.render(BATCH, seed=TRAIN_SEED, start=step * BATCH, modalities=("image",)).image
        with torch.no_grad():
            encoded = model.encode("image", x, RATIO, "random", for_mae=True)
        loss = mae_loss("image", model.reconstruct(encoded, x), relative=True)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        step += 1
        if step % 1000 == 0:
            gain, error = psnr_gain(model, held_out)
            print(f"{step:>6} {elapsed / 60:>8.1f} {gain:>8.2f} {error:>9.5f}", flush=True)
    gain, error = psnr_gain(model, held_out)
    print(f"{step:>6} {args.minutes:>8.1f} {gain:>8.2f} {error:>9.5f}")


if __name__ == "__main__":
    main()
