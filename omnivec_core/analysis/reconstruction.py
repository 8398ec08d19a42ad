"""One MAE reconstruction in input space: original, masked input, reconstruction, and the
reconstruction pasted over the visible tokens; plus its score (PSNR, or Chamfer for points) and a
ratio sweep. How each modality lays its tokens back out is its registry entry's business."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..modalities import REGISTRY
from ..model import OmniVec

RECONSTRUCTED = tuple(m for m, spec in REGISTRY.items() if spec.reconstruct)


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


@torch.no_grad()
def reconstruct(model: OmniVec, modality: str, x: torch.Tensor, ratio: float, kind: str = "random",
                seed: int = 0) -> Reconstruction:
    """`x` is one sample in batch layout (leading dim 1). Ratio 0 keeps every token (an identity check)."""
    if modality not in RECONSTRUCTED:
        raise ValueError(f"{modality} has no reconstruction; choose one of {RECONSTRUCTED}")
    if not 0.0 <= ratio <= 0.95:
        raise ValueError(f"mask ratio must be between 0 and 0.95, got {ratio}")
    spec = REGISTRY[modality]
    generator = torch.Generator(device=x.device).manual_seed(int(seed))
    # a tiny ratio keeps every token but still returns a masking, so ratio 0 shows the full input
    encoded = model.encode(modality, x, max(ratio, 1e-6), kind, generator, for_mae=True)
    out = model.reconstruct(encoded, x)
    prediction, target, mask = out.prediction[0].float(), out.target[0].float(), out.mask[0]
    views = spec.reconstruction_views(model.cfg, x[0], prediction, target, mask, out.extras)
    if mask.any():
        error = (spec.token_error(prediction[None], target[None])[0] * mask).sum() / mask.sum()
        score = spec.reconstruction_score(error, (target.max() - target.min()).item())
    else:
        score = float("inf") if spec.metric == "psnr" else 0.0
    return Reconstruction(modality, *views, mask, score, spec.score_name)


@torch.no_grad()
def ratio_sweep(model: OmniVec, modality: str, x: torch.Tensor, kind: str = "random", seed: int = 0,
                ratios=(0.25, 0.5, 0.75, 0.85, 0.9, 0.95)) -> list[tuple[float, float]]:
    """(ratio, score) for each ratio on the same input."""
    return [(r, reconstruct(model, modality, x, r, kind, seed).score) for r in ratios]
