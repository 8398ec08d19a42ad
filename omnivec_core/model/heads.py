"""Everything after the backbone: the vectorizer, embedding-space projections (MMV's shared,
disjoint and fine-and-coarse), and the task heads (classification and dense segmentation)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..config import ATTRIBUTE_CLASSES, FOLDER_LABEL, NUM_SHAPES, ModelConfig
from ..modalities import REGISTRY, anchor_of
from .tokens import masked_max, masked_mean

TIMED_MODALITIES = tuple(m for m, spec in REGISTRY.items() if spec.fine and spec.grid[0] > 1)  # clips, sounds
HUB = anchor_of(REGISTRY)  # MMV's disjoint design: one space per pair of the hub (video) with another modality


class Vectorizer(nn.Module):
    """Token sequence -> one vector: the meta token's output beside the mean and the max of the content tokens.

    An OmniShapes object covers a few of 64 patches, so a mean is mostly background and shape has to be
    learned through it; the max reads the object's tokens directly. When things happen is not pooled here:
    the video and audio fine heads read each time step's mean (`EmbeddingHeads`, `ModelConfig.time_profile`).
    """

    def __init__(self, width: int):
        super().__init__()
        self.proj = nn.Linear(3 * width, width)  # meta, mean, max (`migrate_weights` widens a mean-only one)

    def forward(self, tokens: torch.Tensor, key_padding: torch.Tensor | None = None) -> torch.Tensor:
        """tokens (B, 1+N, D) with the meta token first."""
        meta, content = tokens[:, 0], tokens[:, 1:]  # (B, D), (B, N, D)
        pooled = torch.cat([meta, masked_mean(content, key_padding), masked_max(content, key_padding)], dim=-1)
        return self.proj(pooled)  # (B, D)


def projection(width: int, dim: int) -> nn.Module:
    """BatchNorm then linear, as in MMV's heads: standardising each feature over the batch removes the
    offset all samples share at initialisation, without which contrastive training collapses."""
    return nn.Sequential(nn.BatchNorm1d(width), nn.Linear(width, dim))


class EmbeddingHeads(nn.Module):
    """Projects a modality's vector into the embedding space(s) it takes part in (L2-normalised).

    With `time_profile` "fine" or "fine_and_coarse", the fine embedding of video and audio adds a
    projection of the content tokens' mean per time step (`time_steps` of them, in order). Only the fine
    space gets it: put into the shared vector, timing crowded out shape and text on the tiny preset. With
    "fine" the coarse space is mapped from the plain fine head, so captions meet what a clip shows and
    not when its flashes fall; with "fine_and_coarse" from the fine embedding with the profile.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.kind = cfg.embed_space
        width, present = cfg.width, cfg.modalities
        self.time_steps = {m: REGISTRY[m].grid[0] for m in TIMED_MODALITIES
                           if cfg.time_profile != "none" and m in present}
        self.time_profile_in_coarse = cfg.time_profile == "fine_and_coarse"
        self.time_heads = nn.ModuleDict({m: projection(steps * width, cfg.fine_dim)
                                         for m, steps in self.time_steps.items()})
        if self.kind == "fac":
            fine = [m for m in present if REGISTRY[m].fine]
            heads = {m: projection(width, cfg.fine_dim) for m in fine}
            heads.update({m: projection(width, cfg.coarse_dim) for m in present if m not in fine})
            self.fine_to_coarse = nn.Linear(cfg.fine_dim, cfg.coarse_dim)
        elif self.kind == "shared":
            heads = {m: projection(width, cfg.coarse_dim) for m in present}
        else:  # disjoint: one space per (video, other) pair, each with its own pair of heads
            heads = {}
            for other in (m for m in present if m != HUB):
                heads[f"{HUB}@{HUB}-{other}"] = projection(width, cfg.coarse_dim)
                heads[f"{other}@{HUB}-{other}"] = projection(width, cfg.coarse_dim)
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
            return "fine" if REGISTRY[a].fine and REGISTRY[b].fine else "coarse"
        if self.kind == "shared":
            return "shared"
        if HUB not in (a, b) or a == b:
            raise ValueError(f"disjoint spaces pair {HUB} with one other modality; cannot compare {a} and {b}")
        return f"{HUB}-{b if a == HUB else a}"

    def forward(self, modality: str, vector: torch.Tensor, time_profile: torch.Tensor | None = None
                ) -> dict[str, torch.Tensor]:
        """vector (B, D); time_profile (B, steps*D), needed by the modalities in `time_steps`."""
        if self.kind == "fac":
            if not REGISTRY[modality].fine:
                return {"coarse": F.normalize(self.heads[modality](vector), dim=-1)}
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
        classes = NUM_SHAPES + 1  # background / ground + one per shape
        self.classify = nn.ModuleDict({name: nn.Linear(cfg.width, n) for name, n in ATTRIBUTE_CLASSES.items()})
        if cfg.classes:  # a folder dataset's labels
            self.classify[FOLDER_LABEL] = nn.Linear(cfg.width, len(cfg.classes))
        self.dense = nn.ModuleDict({m: REGISTRY[m].make_dense_head(cfg, classes)
                                    for m in cfg.modalities if REGISTRY[m].dense})
        self.cfg, self.classes = cfg, classes

    def classification(self, vector: torch.Tensor) -> dict[str, torch.Tensor]:
        return {name: head(vector) for name, head in self.classify.items()}

    def segmentation(self, modality: str, tokens: torch.Tensor, grid: tuple[int, int], x, extras: dict
                     ) -> torch.Tensor:
        """Content tokens (B, N, D) in original order -> the modality's dense logits (per pixel or per point)."""
        return REGISTRY[modality].segment(self.dense[modality], tokens, grid, x, extras, self.cfg, self.classes)
