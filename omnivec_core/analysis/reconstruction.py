"""One MAE reconstruction in input space: original, masked input, reconstruction, and the
reconstruction pasted over the visible tokens; plus PSNR (Chamfer for points) and a ratio sweep."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..model import OmniVec
from ..model.mae import target_to_input
from ..objectives.losses import chamfer

RECONSTRUCTABLE = ("image", "video", "audio", "depth", "points")


@dataclass
class Reconstruction:
    modality: str
    original: torch.Tensor        # one sample in input layout (points: (N, 3))
    masked: torch.Tensor          # hidden tokens blanked (points: only visible groups)
    reconstruction: torch.Tensor  # every token predicted (points: predicted groups)
    pasted: torch.Tensor          # predictions only where hidden, the input elsewhere
    mask: torch.Tensor            # (N_tokens,) 1 where hidden
    score: float                  # PSNR in dB on hidden tokens (Chamfer for points)
    score_name: str


def psnr(prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, value_range: float) -> float:
    """PSNR over hidden tokens: prediction/target (N, d), mask (N,)."""
    error = ((prediction - target).square().mean(-1) * mask).sum() / mask.sum().clamp(min=1)
    return 10 * math.log10(value_range**2 / max(error.item(), 1e-12))


@torch.no_grad()
def reconstruct(model: OmniVec, modality: str, x: torch.Tensor, ratio: float, kind: str = "random",
                seed: int = 0) -> Reconstruction:
    """`x` is one sample in batch layout (leading dim 1). Ratio 0 keeps every token (an identity check)."""
    if modality not in RECONSTRUCTABLE:
        raise ValueError(f"{modality} has no reconstruction; choose one of {RECONSTRUCTABLE}")
    if not 0.0 <= ratio <= 0.95:
        raise ValueError(f"mask ratio must be between 0 and 0.95, got {ratio}")
    generator = torch.Generator(device=x.device).manual_seed(int(seed))
    # a tiny ratio keeps every token but still returns a masking, so ratio 0 shows the full input
    encoded = model.encode(modality, x, max(ratio, 1e-6), kind, generator, for_mae=True)
    out = model.reconstruct(encoded, x)
    prediction, target, mask = out.prediction[0].float(), out.target[0].float(), out.mask[0]
    pasted_tokens = torch.where(mask[:, None].bool(), prediction, target)
    if modality == "points":
        centres, hidden = out.extras["centres"][0], mask.bool()

        def groups(values: torch.Tensor, which: torch.Tensor) -> torch.Tensor:
            """(G', k*3) local offsets of the groups `which` -> (G'*k, 3) absolute points."""
            return (values.unflatten(-1, (-1, 3)) + centres[which][:, None]).reshape(-1, 3)

        score = chamfer(prediction[hidden].unflatten(-1, (-1, 3)), target[hidden].unflatten(-1, (-1, 3))).mean().item() \
            if hidden.any() else 0.0
        every = torch.ones_like(hidden)
        return Reconstruction(modality, x[0], groups(target[~hidden], ~hidden), groups(prediction, every),
                              groups(pasted_tokens, every), mask, score, "Chamfer (lower is better)")
    value_range = 1.0 if modality in ("image", "video", "depth") else (target.max() - target.min()).item()
    blank = torch.zeros_like(target) if modality != "audio" else torch.full_like(target, target.min().item())
    masked_tokens = torch.where(mask[:, None].bool(), blank, target)
    like = x[0]

    def as_input(tokens: torch.Tensor) -> torch.Tensor:
        return target_to_input(model.cfg, modality, tokens[None], like[None])[0]

    return Reconstruction(modality, like, as_input(masked_tokens), as_input(prediction), as_input(pasted_tokens),
                          mask, psnr(prediction, target, mask, value_range) if mask.any() else float("inf"),
                          "PSNR on hidden patches (dB)")


@torch.no_grad()
def ratio_sweep(model: OmniVec, modality: str, x: torch.Tensor, kind: str = "random", seed: int = 0,
                ratios=(0.25, 0.5, 0.75, 0.85, 0.9, 0.95)) -> list[tuple[float, float]]:
    """(ratio, score) for each ratio on the same input."""
    return [(r, reconstruct(model, modality, x, r, kind, seed).score) for r in ratios]
