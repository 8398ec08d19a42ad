"""Everything after the backbone: the vectorizer, embedding-space projections (MMV's shared,
disjoint and fine-and-coarse), and the task heads (classification and dense segmentation)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from timm.layers import Mlp
from torch import nn

from ..config import ATTRIBUTE_CLASSES, MODALITY_SPECS, NUM_SHAPES, ModelConfig
from . import patches
from .tokens import masked_max, masked_mean, masked_slot_mean

FINE_MODALITIES = ("image", "video", "audio", "depth", "points")  # instance-level signals; text is coarse
TIMED_MODALITIES = tuple(m for m in FINE_MODALITIES if MODALITY_SPECS[m].grid[0] > 1)  # video, audio


class Vectorizer(nn.Module):
    """Token sequence -> one vector: the meta token's output beside pooled content tokens.

    "mean_max" adds a max over tokens to the mean. An OmniShapes object covers a few of 64 patches,
    so a mean is mostly background and shape has to be learned through it; the max reads the
    object's tokens directly. Supervised on shape alone (bench/stem_shape_check.py, tiny model),
    held-out accuracy after 300 steps rose from 0.78 to 0.94 for images (batch 64) and from 0.20 to
    0.90 for video (batch 32).

    "mean_max_time" adds the mean of each time slot, in order. Mean and max over all tokens forget
    when things happen; a flash frame is what tells two otherwise equal clips apart, and heads on
    frozen backbone tokens retrieve audio from video among 1,000 at R@1 0.997 with this profile
    against 0.850 without (bench/pool_heads.py).
    """

    def __init__(self, width: int, pool: str = "mean_max", time_slots: int = 8):
        super().__init__()
        self.use_max = pool in ("mean_max", "mean_max_time")
        self.time_slots = time_slots if pool == "mean_max_time" else 0
        self.proj = nn.Linear((2 + self.use_max + self.time_slots) * width, width)

    def forward(self, tokens: torch.Tensor, key_padding: torch.Tensor | None = None,
                time_slot: torch.Tensor | None = None) -> torch.Tensor:
        """tokens (B, 1+N, D) with the meta token first; time_slot (B, N) is needed by the time pool."""
        meta, content = tokens[:, 0], tokens[:, 1:]  # (B, D), (B, N, D)
        pooled = [masked_mean(content, key_padding)]
        if self.use_max:
            pooled.append(masked_max(content, key_padding))
        if self.time_slots:
            if time_slot is None:
                raise ValueError("the mean_max_time pool needs each token's time slot")
            pooled.append(masked_slot_mean(content, time_slot, self.time_slots, key_padding).flatten(1))  # (B, S*D)
        return self.proj(torch.cat([meta, *pooled], dim=-1))  # (B, D)


def projection(width: int, dim: int) -> nn.Module:
    """BatchNorm then linear, as in MMV's heads: standardising each feature over the batch removes the
    offset all samples share at initialisation, without which contrastive training collapses."""
    return nn.Sequential(nn.BatchNorm1d(width), nn.Linear(width, dim))


class EmbeddingHeads(nn.Module):
    """Projects a modality's vector into the embedding space(s) it takes part in (L2-normalised).

    With `fine_time_profile`, the fine embedding of video and audio adds a projection of the content
    tokens' mean per time step (`time_steps` of them, in order). Only the fine space gets it: put into
    the shared vector, timing crowded out shape and text on the tiny preset (BENCHMARKS.md). Unless
    `time_profile_in_coarse`, the coarse space is mapped from the plain fine head, so captions meet
    what a clip shows and not when its flashes fall.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.kind = cfg.embed_space
        width, present = cfg.width, cfg.modalities
        self.time_steps = {m: MODALITY_SPECS[m].grid[0] for m in TIMED_MODALITIES
                           if cfg.fine_time_profile and m in present}
        self.time_profile_in_coarse = cfg.time_profile_in_coarse
        self.time_heads = nn.ModuleDict({m: projection(steps * width, cfg.fine_dim)
                                         for m, steps in self.time_steps.items()})
        if self.kind == "fac":
            heads = {m: projection(width, cfg.fine_dim) for m in present if m in FINE_MODALITIES}
            if "text" in present:
                heads["text"] = projection(width, cfg.coarse_dim)
            self.fine_to_coarse = nn.Linear(cfg.fine_dim, cfg.coarse_dim)
        elif self.kind == "shared":
            heads = {m: projection(width, cfg.coarse_dim) for m in present}
        else:  # disjoint: one space per (video, other) pair, each with its own pair of heads
            heads = {}
            for other in (m for m in present if m != "video"):
                heads[f"video@video-{other}"] = projection(width, cfg.coarse_dim)
                heads[f"{other}@video-{other}"] = projection(width, cfg.coarse_dim)
        self.heads = nn.ModuleDict(heads)

    def reset_time_heads(self) -> None:
        """Start the time heads at zero, so the fine space begins as without them and a model trained
        without them can be continued (`train --init`)."""
        for head in self.time_heads.values():
            nn.init.zeros_(head[-1].weight)
            nn.init.zeros_(head[-1].bias)

    @property
    def joint_space(self) -> str | None:
        """The one space every modality lands in (for maps), if the design has one."""
        return {"fac": "coarse", "shared": "shared", "disjoint": None}[self.kind]

    def pair_space(self, a: str, b: str) -> str:
        """Which space two modalities are compared in."""
        if self.kind == "fac":
            return "coarse" if "text" in (a, b) else "fine"
        if self.kind == "shared":
            return "shared"
        if "video" not in (a, b) or a == b:
            raise ValueError(f"disjoint spaces pair video with one other modality; cannot compare {a} and {b}")
        return f"video-{b if a == 'video' else a}"

    def forward(self, modality: str, vector: torch.Tensor, time_profile: torch.Tensor | None = None
                ) -> dict[str, torch.Tensor]:
        """vector (B, D); time_profile (B, steps*D), needed by the modalities in `time_steps`."""
        if self.kind == "fac":
            if modality == "text":
                return {"coarse": F.normalize(self.heads["text"](vector), dim=-1)}
            plain = self.heads[modality](vector)
            fine = plain
            if modality in self.time_heads:
                if time_profile is None:
                    raise ValueError(f"the {modality} fine head needs the time profile of its tokens")
                fine = plain + self.time_heads[modality](time_profile)
            coarse = self.fine_to_coarse(fine if self.time_profile_in_coarse else plain)
            return {"fine": F.normalize(fine, dim=-1), "coarse": F.normalize(coarse, dim=-1)}
        if self.kind == "shared":
            return {"shared": F.normalize(self.heads[modality](vector), dim=-1)}
        prefix = f"{modality}@"
        return {key[len(prefix):]: F.normalize(head(vector), dim=-1)
                for key, head in self.heads.items() if key.startswith(prefix)}


class TaskHeads(nn.Module):
    """Classification heads shared by all modalities (one per attribute) and per-modality dense heads."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.patch = cfg.patch
        classes = NUM_SHAPES + 1  # background / ground + one per shape
        self.classify = nn.ModuleDict({name: nn.Linear(cfg.width, n) for name, n in ATTRIBUTE_CLASSES.items()})
        dense = {}
        for m in cfg.modalities:
            if MODALITY_SPECS[m].dense:
                dense[m] = Mlp(cfg.width + 3, cfg.width, classes) if m == "points" else \
                    nn.Linear(cfg.width, cfg.patch**2 * classes)
        self.dense = nn.ModuleDict(dense)
        self.classes = classes

    def classification(self, vector: torch.Tensor) -> dict[str, torch.Tensor]:
        return {name: head(vector) for name, head in self.classify.items()}

    def segmentation(self, modality: str, tokens: torch.Tensor, grid: tuple[int, int],
                     points: torch.Tensor | None = None, centres: torch.Tensor | None = None) -> torch.Tensor:
        """Content tokens (B, N, D) in original order -> per-pixel (B, classes, H, W) or per-point (B, P, classes)."""
        if modality == "points":
            owner = patches.nearest_centre(points, centres)                          # (B, P)
            feature = torch.gather(tokens, 1, owner.unsqueeze(-1).expand(-1, -1, tokens.shape[-1]))
            offset = points - torch.gather(centres, 1, owner.unsqueeze(-1).expand(-1, -1, 3))
            return self.dense["points"](torch.cat([feature, offset], dim=-1))      # (B, P, classes)
        side = int(round(grid[1] ** 0.5))
        logits = self.dense[modality](tokens)                                      # (B, N, p*p*classes)
        return patches.unpatchify_2d(logits, (side, side), self.patch, self.classes)  # (B, classes, H, W)
